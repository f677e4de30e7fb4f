// The processes the conformance run needs: the reference upstream, the real gateway, and a loopback proxy.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, startEverything as startEverythingAt } from '../../test/support/everything-server.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BOTGATE = path.join(ROOT, 'bin/botgate.js');

export { freePort };

export interface Running {
  url: string;
  stop(): Promise<void>;
}

/** Kills a child and waits for it to go; a no-op once it has exited. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** server-everything in Streamable HTTP mode on a free loopback port; resolves once it listens. */
export async function startEverything(): Promise<Running> {
  const port = await freePort();
  const child = await startEverythingAt(port);
  return { url: `http://127.0.0.1:${port}/mcp`, stop: () => stopChild(child) };
}

export interface RunningGateway extends Running {
  /** The operator token the gateway wrote to DATA_DIR/operator.json. */
  token: string;
  /** Everything the gateway wrote to stdout and stderr. */
  logFile: string;
}

/**
 * `botgate serve` as a user runs it: embedded database in a fresh DATA_DIR, port 0,
 * loopback upstreams allowed, and `extra` (the Claude API its bots use, say).
 * Resolves once DATA_DIR/operator.json names its URL.
 */
export async function startGateway(dataDir: string, logFile: string, extra: Record<string, string> = {}): Promise<RunningGateway> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    BOTGATE_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8',
    LOG_LEVEL: 'warn',
  };
  // A fresh embedded database on loopback, whatever the calling shell points at.
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'PUBLIC_URL', 'ANTHROPIC_BASE_URL', 'ANTHROPIC_API_KEY']) delete env[name];
  Object.assign(env, extra);
  const log = fs.openSync(logFile, 'a');
  const child = spawn(process.execPath, [BOTGATE, 'serve'], { env, cwd: ROOT, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  const stop = () => stopChild(child);
  const credentialFile = path.join(dataDir, 'operator.json');
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      const credential = JSON.parse(fs.readFileSync(credentialFile, 'utf8')) as { url: string; token: string };
      return { url: credential.url, token: credential.token, logFile, stop };
    } catch {
      await sleep(100);
    }
  }
  await stop();
  throw new Error(`the gateway did not start (exit ${child.exitCode}); its log:\n${fs.readFileSync(logFile, 'utf8').slice(-4_000)}`);
}

/** Runs one operator command through the running gateway, as `botgate <command>` would. */
export async function operatorCommand<T>(gateway: RunningGateway, name: string, args: Record<string, unknown>): Promise<T> {
  const response = await fetch(`${gateway.url}/api/v1/operator/${name}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gateway.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(args),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`operator ${name} answered ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}

/**
 * A transparent loopback proxy that adds `Authorization` to every request: the
 * suite cannot send one. Requests and responses are streamed (SSE included);
 * Host, Origin and every other header pass through unchanged, so the target sees
 * what the suite sent.
 */
export async function startHeaderProxy(target: string, authorization: string): Promise<Running> {
  const upstream = new URL(target);
  const server = http.createServer((req, res) => {
    const outgoing = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, authorization },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
        res.flushHeaders();
        answer.pipe(res);
      },
    );
    outgoing.once('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    // The suite closing its stream is how a 2026 client cancels: pass that on.
    res.once('close', () => outgoing.destroy());
    req.pipe(outgoing);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
