import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, runCliJsonInProcess, type CliOptions } from '../support/cli.ts';
import {
  exists,
  makeDataDir,
  makeEmptyDataDir,
  pollUntil,
  spawnGateway,
  startGateway,
  type GatewayProcess,
} from '../support/gateway-process.ts';
import { apiClient, seedTenant, type KeyJson, type MeJson, type MemberJson } from '../support/http.ts';

/** Sends a POST whose body arrives in two parts; the second part is sent by `finish`. */
function startSlowPost(url: string, urlPath: string, key: string, body: string) {
  const target = new URL(urlPath, url);
  const split = Math.floor(body.length / 2);
  const req = http.request(target, {
    method: 'POST',
    agent: false,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
  });
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.once('error', reject);
    req.once('response', (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
  });
  // Awaited later; a reset before then must fail the test, not surface as an unhandled rejection.
  response.catch(() => undefined);
  req.write(body.slice(0, split));
  return { response, finish: () => req.end(body.slice(split)) };
}

describe('gateway lifecycle on the embedded database', () => {
  let cli: CliOptions;
  let gateway: GatewayProcess | undefined;
  let secret: string;

  beforeAll(async () => {
    cli = { dataDir: await makeEmptyDataDir() };
  });

  afterAll(async () => {
    await gateway?.stop();
    if (cli) await fs.rm(cli.dataDir, { recursive: true, force: true });
  });

  it('runs the CLI with no gateway running, directly on a fresh DATA_DIR', async () => {
    // One after the other, as each holds the embedded database while it runs (two in this process would not
    // keep each other out: the lock names the same pid). In-process, but for the one reading its password
    // from stdin, which runs through bin/botgate.js in its own process.
    expect(await runCliJsonInProcess(['tenant', 'create', 'offline'], cli)).toMatchObject({ tenant: { slug: 'offline' } });
    const user = await runCli(
      ['user', 'create', '--tenant', 'offline', '--email', 'carol@offline.example', '--role', 'owner', '--password-stdin'],
      { ...cli, stdin: 'offline password 123\n' },
    );
    expect(user).toMatchObject({ code: 0, stderr: '' });
    expect(user.stdout).not.toContain('password');
    const { key } = await runCliJsonInProcess<{ key: KeyJson & { secret: string } }>(
      ['key', 'create', '--tenant', 'offline', '--name', 'laptop', '--scopes', 'admin', '--user', 'carol@offline.example'],
      cli,
    );
    secret = key.secret;
    // The CLI released the embedded database when it finished.
    expect(await exists(path.join(cli.dataDir, 'pglite.lock'))).toBe(false);
    expect(await exists(path.join(cli.dataDir, 'operator.json'))).toBe(false);
  });

  it('serves that data once started, and again after a restart', async () => {
    gateway = await startGateway({ dataDir: cli.dataDir });
    const first = await apiClient(gateway.url, secret).get<MeJson>('/api/v1/me');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ tenant: { slug: 'offline' }, role: 'owner', key: { scopes: ['admin'] } });
    const members = await apiClient(gateway.url, secret).get<{ members: MemberJson[] }>('/api/v1/members');
    expect(members.body.members.map((m) => m.email)).toEqual(['carol@offline.example']);
    // A clean start on a supported Node gives the operator no warning to act on (its log level here is warn).
    expect(gateway.output()).toBe('');

    expect(await gateway.stop()).toEqual({ code: 0, signal: null });
    expect(await exists(path.join(cli.dataDir, 'operator.json'))).toBe(false);
    expect(await exists(path.join(cli.dataDir, 'pglite.lock'))).toBe(false);

    gateway = await startGateway({ dataDir: cli.dataDir });
    const again = await apiClient(gateway.url, secret).get<MeJson>('/api/v1/me');
    expect(again.status).toBe(200);
    expect(again.body.user_id).toBe(first.body.user_id);
  });

  it('finishes a request in flight on SIGTERM, then exits 0 and removes its files', async () => {
    if (!gateway) throw new Error('no gateway from the previous test');
    const running = gateway;
    const slow = startSlowPost(running.url, '/api/v1/keys', secret, JSON.stringify({ name: 'in-flight', scopes: ['admin'] }));
    // The request is in flight once its headers are parsed; a later request on another connection proves that.
    expect((await fetch(`${running.url}/healthz`)).status).toBe(200);

    process.kill(running.pid, 'SIGTERM');
    // Draining: the listening socket is closed, so new connections are refused...
    await pollUntil('the gateway to stop accepting connections', () =>
      fetch(`${running.url}/healthz`, { headers: { connection: 'close' } }).then(
        () => undefined,
        () => true,
      ),
    );
    expect(await exists(path.join(cli.dataDir, 'operator.json'))).toBe(false);
    // ...but the request already in flight still completes.
    slow.finish();
    const response = await slow.response;
    expect(response.status).toBe(201);
    expect(JSON.parse(response.body)).toMatchObject({ key: { name: 'in-flight', secret: expect.stringMatching(/^bgk_/) } });

    expect(await running.exited).toEqual({ code: 0, signal: null });
    gateway = undefined;
    expect(await exists(path.join(cli.dataDir, 'pglite.lock'))).toBe(false);
  });

  it('refuses to start on a bad environment value, naming the variable', async () => {
    const dataDir = await makeEmptyDataDir();
    try {
      const bad = spawnGateway({ dataDir, env: { PORT: 'abc' } });
      const exit = await bad.exited;
      expect(exit.code).not.toBe(0);
      expect(exit.code).not.toBeNull();
      expect(bad.output()).toMatch(/^botgate: invalid configuration: PORT: [^\n]+\n$/);
      expect(await fs.readdir(dataDir)).toEqual([]);
    } finally {
      await fs.rm(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses to start on a bad operator price file, naming the file and the field', async () => {
    const dataDir = await makeEmptyDataDir();
    const pricesFile = path.join(dataDir, 'prices.json');
    try {
      await fs.writeFile(pricesFile, JSON.stringify({ models: [{ model: 'house-model', input: 'free', output: '1', cache_write: '1', cache_read: '1', source: 'contract', as_of: '2026-11-01' }] }));
      const bad = spawnGateway({ dataDir, env: { BOTGATE_PRICES_FILE: pricesFile } });
      const exit = await bad.exited;
      expect(exit.code).not.toBe(0);
      expect(bad.output()).toContain(`price file ${pricesFile}: models.0.input: must be a non-negative decimal`);
      expect(await fs.readdir(dataDir)).toEqual(['prices.json']);
    } finally {
      await fs.rm(dataDir, { recursive: true, force: true });
    }
  });

  it('prices a model from the operator price file', async () => {
    const dataDir = await makeDataDir();
    const pricesFile = path.join(dataDir, 'prices.json');
    await fs.writeFile(pricesFile, JSON.stringify({ models: [{ model: 'house-model', input: '1', output: '2', cache_write: '1.25', cache_read: '0.1', source: 'our contract', as_of: '2026-11-01' }] }));
    const priced = await startGateway({ dataDir, env: { BOTGATE_PRICES_FILE: pricesFile } });
    try {
      const key = (await seedTenant(dataDir, 'priced')).key.secret;
      const created = await apiClient(priced.url, key).post<{ bot: { priced: boolean } }>('/api/v1/bots', { json: { slug: 'house', model: 'house-model', description: 'In-house model bot.' } });
      expect(created.body.bot.priced).toBe(true);
    } finally {
      await priced.stop();
      await fs.rm(dataDir, { recursive: true, force: true });
    }
  });
});
