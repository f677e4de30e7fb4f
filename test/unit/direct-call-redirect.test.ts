import { describe, expect, it } from 'vitest';
import { sameOriginRedirect } from '../../src/servers/remote/direct-call.ts';

const from = new URL('http://mcp.example:8080/mcp');
const answer = (statusCode: number, location?: string) => ({ statusCode, headers: location === undefined ? {} : { location } });
const followed = (statusCode: number, location?: string, origin = from) => sameOriginRedirect(origin, answer(statusCode, location))?.href;

describe('which redirects a direct call follows, as the SDK client does', () => {
  it('follows a 307 or 308 within the origin, relative or absolute', () => {
    expect(followed(307, '/mcp/')).toBe('http://mcp.example:8080/mcp/');
    expect(followed(308, 'http://mcp.example:8080/v2/mcp')).toBe('http://mcp.example:8080/v2/mcp');
  });

  it('follows the https form of an http origin on default ports only', () => {
    expect(followed(308, 'https://mcp.example/mcp', new URL('http://mcp.example/mcp'))).toBe('https://mcp.example/mcp');
    expect(followed(308, 'https://mcp.example:8443/mcp')).toBeUndefined();
  });

  it('follows nothing that would change the method, the origin or the credentials', () => {
    for (const status of [301, 302, 303]) expect(followed(status, '/mcp/')).toBeUndefined();
    expect(followed(307, 'http://other.example:8080/mcp')).toBeUndefined();
    expect(followed(307, 'http://mcp.example:9090/mcp')).toBeUndefined();
    expect(followed(307, 'http://user:secret@mcp.example:8080/mcp')).toBeUndefined();
    expect(followed(307, 'https://mcp.example:8080/mcp')).toBeUndefined();
  });

  it('follows no redirect without a usable location, and no answer that is not one', () => {
    expect(followed(307)).toBeUndefined();
    expect(followed(307, 'http://[bad')).toBeUndefined();
    expect(followed(200, '/mcp/')).toBeUndefined();
  });
});
