import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPolicyFetch, RefusedAddressError } from '../../src/gateway/oauth/outbound-fetch.ts';

describe('outbound fetches of the authorization server (client metadata documents)', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/redirect') res.writeHead(302, { location: 'http://169.254.169.254/latest' }).end();
      else res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60' }).end('{"ok":true}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('refuses private and reserved addresses the operator has not allowed, by literal and by name', async () => {
    const fetchIt = createPolicyFetch([]);
    await expect(fetchIt(`${base}/doc.json`)).rejects.toBeInstanceOf(RefusedAddressError);
    const port = (server.address() as AddressInfo).port;
    await expect(fetchIt(`http://localhost:${port}/doc.json`)).rejects.toThrow(/private or reserved/);
    await expect(fetchIt('http://[::1]/doc.json')).rejects.toBeInstanceOf(RefusedAddressError);
    await expect(fetchIt('http://169.254.169.254/latest')).rejects.toBeInstanceOf(RefusedAddressError);
    await expect(fetchIt('file:///etc/passwd')).rejects.toThrow(/unsupported protocol/);
  });

  it('fetches from allowed networks, returning a Response, and does not follow redirects', async () => {
    const fetchIt = createPolicyFetch(['127.0.0.0/8']);
    const response = await fetchIt(`${base}/doc.json`, { method: 'GET', headers: new Headers({ accept: 'application/json' }), signal: AbortSignal.timeout(2000) });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('max-age=60');
    expect(await response.json()).toEqual({ ok: true });
    const redirected = await fetchIt(`${base}/redirect`);
    expect(redirected.status).toBe(302);
    expect(redirected.headers.get('location')).toBe('http://169.254.169.254/latest');
  });
});
