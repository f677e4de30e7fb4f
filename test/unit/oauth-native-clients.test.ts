import { describe, expect, it } from 'vitest';
import { isNativeClient, nativeByDefault, readingNativeByDefault } from '../../src/gateway/oauth/native-clients.ts';

const CLI = {
  client_id: 'https://app.example/oauth/cli.json',
  redirect_uris: ['http://localhost/callback', 'http://127.0.0.1/callback', 'http://[::1]/callback'],
  token_endpoint_auth_method: 'none',
};

describe('client metadata documents read as native apps', () => {
  it('makes a document without application_type and with loopback redirects only a native one', () => {
    expect(nativeByDefault(CLI)).toEqual({ ...CLI, application_type: 'native' });
  });

  it('takes a client coming back to the computer for a native app unless it says otherwise, and an app scheme for no web client', () => {
    const app = 'cursor://anysphere.cursor-mcp/oauth/callback';
    const loopback = 'http://127.0.0.1/callback';
    const web = 'https://app.example/callback';
    const cases: Array<[unknown, unknown, boolean]> = [
      ['native', [web], true],
      [undefined, [app], true],
      [undefined, [loopback, app], true],
      ['web', [app], true],
      ['web', [loopback], false],
      [undefined, [app, web], false],
      ['web', [app, web], false],
      ['something', [app], false],
      [undefined, [], false],
      [undefined, 'cursor://x/cb', false],
      [undefined, ['not a url'], false],
    ];
    for (const [declared, redirects, native] of cases) expect([declared, redirects, isNativeClient(declared, redirects)]).toEqual([declared, redirects, native]);
  });

  it('leaves every other document as it is', () => {
    const kept = [
      { ...CLI, application_type: 'web' },
      { ...CLI, redirect_uris: [...CLI.redirect_uris, 'https://app.example/callback'] },
      { ...CLI, redirect_uris: ['http://192.168.1.20/callback'] },
      { ...CLI, redirect_uris: ['https://localhost/callback'] },
      { ...CLI, redirect_uris: [] },
      { ...CLI, redirect_uris: 'http://127.0.0.1/callback' },
      ['http://127.0.0.1/callback'],
      'text',
      null,
    ];
    for (const document of kept) expect(nativeByDefault(document)).toBe(document);
  });

  it('rewrites a fetched document, hands other answers on, and refuses one too large to look at', async () => {
    const answers: Record<string, () => Response> = {
      '/cli.json': () => new Response(JSON.stringify(CLI), { headers: { 'content-type': 'application/json', 'cache-control': 'max-age=60' } }),
      '/missing': () => new Response('no', { status: 404 }),
      '/text': () => new Response('not json'),
      '/huge': () => new Response(JSON.stringify({ ...CLI, padding: 'x'.repeat(70_000) })),
    };
    const fetchIt = readingNativeByDefault((input) => Promise.resolve(answers[new URL(input).pathname]!()));

    const read = await fetchIt('https://app.example/cli.json');
    expect(read.headers.get('cache-control')).toBe('max-age=60');
    expect(await read.json()).toEqual({ ...CLI, application_type: 'native' });
    const missing = await fetchIt('https://app.example/missing');
    expect([missing.status, await missing.text()]).toEqual([404, 'no']);
    expect(await (await fetchIt('https://app.example/text')).text()).toBe('not json');
    await expect(fetchIt('https://app.example/huge')).rejects.toThrow('response too large');
  });
});
