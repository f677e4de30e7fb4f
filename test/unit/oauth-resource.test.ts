import { describe, expect, it } from 'vitest';
import {
  bearerChallenge,
  canonicalPath,
  parseMcpResource,
  protectedResourceMetadata,
  protectedResourceMetadataUrl,
  resourceUrl,
} from '../../src/gateway/oauth/resource.ts';

const ISSUER = 'https://gw.example';

describe('MCP endpoints as protected resources', () => {
  it('accepts exactly the canonical URLs of the MCP endpoints', () => {
    expect(parseMcpResource(ISSUER, `${ISSUER}/t/acme/mcp`)).toEqual({ url: `${ISSUER}/t/acme/mcp`, path: '/t/acme/mcp', tenantSlug: 'acme' });
    expect(parseMcpResource(ISSUER, `${ISSUER}/t/acme/mcp/bots/helper`)).toMatchObject({ tenantSlug: 'acme', path: '/t/acme/mcp/bots/helper' });
    expect(parseMcpResource(ISSUER, `${ISSUER}/t/acme/mcp/servers/files-2`)).toMatchObject({ tenantSlug: 'acme' });
    for (const other of [
      `${ISSUER}/t/acme/mcp/`,
      `${ISSUER}/t/acme/mcp?x=1`,
      `${ISSUER}/t/acme/mcp#f`,
      `${ISSUER}/t/ACME/mcp`,
      `${ISSUER}/t/acme/mcp/bots`,
      `${ISSUER}/t/acme/mcp/bots/a/b`,
      `${ISSUER}/t/acme/mcp/other/x`,
      `${ISSUER}/t/acme/../other/mcp`,
      `${ISSUER}/api/v1/me`,
      `${ISSUER}.evil.example/t/acme/mcp`,
      `https://other.example/t/acme/mcp`,
      `http://gw.example/t/acme/mcp`,
      `${ISSUER}@evil.example/t/acme/mcp`,
    ]) {
      expect({ other, parsed: parseMcpResource(ISSUER, other) }).toEqual({ other, parsed: undefined });
    }
  });

  it('names the request URL without a trailing slash', () => {
    expect(canonicalPath('/t/acme/mcp/')).toBe('/t/acme/mcp');
    expect(canonicalPath('/')).toBe('/');
    expect(resourceUrl(ISSUER, '/t/acme/mcp/')).toBe(`${ISSUER}/t/acme/mcp`);
  });

  it('puts the metadata where RFC 9728 looks for it, and describes the endpoint', () => {
    expect(protectedResourceMetadataUrl(`${ISSUER}/t/acme/mcp/bots/helper`)).toBe(`${ISSUER}/.well-known/oauth-protected-resource/t/acme/mcp/bots/helper`);
    const resource = parseMcpResource(ISSUER, `${ISSUER}/t/acme/mcp`);
    if (!resource) throw new Error('unparsed');
    expect(protectedResourceMetadata(resource, ISSUER)).toMatchObject({
      resource: `${ISSUER}/t/acme/mcp`,
      authorization_servers: [ISSUER],
      scopes_supported: ['mcp', 'mcp:read'],
      bearer_methods_supported: ['header'],
    });
  });

  it('writes RFC 6750 challenges with the metadata and the scope, quoting safely', () => {
    expect(bearerChallenge({ resourceMetadataUrl: 'https://gw/.well-known/x', scope: 'mcp' })).toBe('Bearer resource_metadata="https://gw/.well-known/x", scope="mcp"');
    expect(
      bearerChallenge({ resourceMetadataUrl: 'https://gw/m', scope: 'mcp', error: { error: 'insufficient_scope', description: 'needs "mcp"\\ now\n' } }),
    ).toBe('Bearer error="insufficient_scope", error_description="needs  mcp   now ", resource_metadata="https://gw/m", scope="mcp"');
  });
});
