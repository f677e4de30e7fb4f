import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/everything-server.ts';
import { exists, makeDataDir, makeEmptyDataDir, pollUntil, spawnGateway, startGateway, type GatewayProcess } from '../support/gateway-process.ts';

/** The JSON log line with message `msg` that the gateway wrote. */
function logLine(output: string, msg: string): Record<string, unknown> | undefined {
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as Record<string, unknown>;
    if (entry['msg'] === msg) return entry;
  }
  return undefined;
}

/** The gateway's "listening" line: its credential file, which says it is up, may be read before the line reaches its output. */
const listeningLine = (gateway: GatewayProcess) => pollUntil('the listening line', async () => logLine(gateway.output(), 'botgate listening'));

// `botgate serve` as an operator starts it: what it says, and the headers browsers get.
describe('botgate serve at start-up', () => {
  const dataDirs: string[] = [];
  const gateways: GatewayProcess[] = [];
  const freshDir = async () => {
    const dir = await makeEmptyDataDir();
    dataDirs.push(dir);
    return dir;
  };
  // With the embedded database already made: for what does not depend on a first start.
  const migratedDir = async () => {
    const dir = await makeDataDir();
    dataDirs.push(dir);
    return dir;
  };

  afterAll(async () => {
    for (const gateway of gateways) await gateway.stop();
    for (const dir of dataDirs) await fs.rm(dir, { recursive: true, force: true });
  });

  it('exits 1 saying the port is taken, before making a database', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as net.AddressInfo;
    try {
      const dataDir = await freshDir();
      const serve = spawnGateway({ dataDir, env: { PORT: String(port) } });
      const exit = await serve.exited;
      expect(exit.code).toBe(1);
      expect(serve.output()).toContain(`botgate: port ${port} on 127.0.0.1 is already in use (another gateway?); set PORT to a free port\n`);
      expect(serve.output()).not.toContain('unexpected error');
      expect(await exists(path.join(dataDir, 'pglite'))).toBe(false);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('is not ready before OAuth is: the first client refused once it is ready is told where to sign in', async () => {
    const port = await freePort();
    const serve = spawnGateway({ dataDir: await freshDir(), env: { PORT: String(port) } });
    const base = `http://127.0.0.1:${port}`;
    try {
      for (let ready = false; !ready; ) {
        const status = await fetch(`${base}/readyz`).then((r) => r.status, () => 0);
        ready = status === 200;
        if (!ready) await new Promise((resolve) => setTimeout(resolve, 2));
      }
      const refused = await fetch(`${base}/t/acme/mcp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toContain(`resource_metadata="${base}/.well-known/oauth-protected-resource/t/acme/mcp"`);
    } finally {
      serve.child.kill('SIGTERM');
      await serve.exited;
    }
  }, 120_000);

  it('on all interfaces behind https, says where it listens and the public URL, and sends HSTS', async () => {
    const gateway = await startGateway({
      dataDir: await migratedDir(),
      env: { HOST: '0.0.0.0', PUBLIC_URL: 'https://gateway.example', LOG_LEVEL: 'info' },
    });
    gateways.push(gateway);
    const port = new URL(gateway.url).port;
    const listening = await listeningLine(gateway);
    expect(listening).toMatchObject({ listening: `0.0.0.0:${port}`, url: 'https://gateway.example' });

    const response = await fetch(`${gateway.url}/healthz`);
    expect(response.status).toBe(200);
    expect(response.headers.get('strict-transport-security')).toMatch(/^max-age=\d+/);
    expect(response.headers.get('content-security-policy')).toContain('upgrade-insecure-requests');
  }, 120_000);

  it('on plain http, says the URL it listens on, and sends neither HSTS nor upgrade-insecure-requests', async () => {
    const gateway = await startGateway({ dataDir: await migratedDir(), env: { LOG_LEVEL: 'info' } });
    gateways.push(gateway);
    const port = new URL(gateway.url).port;
    expect(await listeningLine(gateway)).toMatchObject({ listening: `127.0.0.1:${port}`, url: `http://127.0.0.1:${port}` });

    for (const urlPath of ['/healthz', '/api/v1/me']) {
      const response = await fetch(`${gateway.url}${urlPath}`);
      expect(response.headers.get('strict-transport-security')).toBeNull();
      const csp = response.headers.get('content-security-policy');
      expect(csp).toContain("default-src 'self'");
      expect(csp).not.toContain('upgrade-insecure-requests');
    }
  }, 120_000);
});
