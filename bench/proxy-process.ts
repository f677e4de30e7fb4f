import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { startBareProxy } from './bare-mcp-proxy.ts';
import { startPipeProxy } from './pipe-proxy.ts';

/** The comparison proxies bench C measures beside the gateway. */
export type ProxyKind = 'pipe' | 'bare';

export interface ProxyProcess {
  url: string;
  pid: number;
  close(): Promise<void>;
}

/** Set in the environment of a proxy's own process: which proxy it runs. */
const KIND_ENV = 'BOTGATE_BENCH_PROXY';
const UPSTREAM_ENV = 'BOTGATE_BENCH_PROXY_UPSTREAM';

/**
 * Starts a comparison proxy in a process of its own (inheriting this process's
 * tsx loader), so that its work, its garbage above all, never lands on the
 * gateway's process during the gateway's calls; resolves with its URL.
 */
export async function startProxyProcess(kind: ProxyKind, upstreamUrl: string): Promise<ProxyProcess> {
  const child = fork(fileURLToPath(import.meta.url), { env: { ...process.env, [KIND_ENV]: kind, [UPSTREAM_ENV]: upstreamUrl } });
  const exited = once(child, 'exit');
  const [url] = (await Promise.race([
    once(child, 'message'),
    exited.then(([code]) => Promise.reject(new Error(`the ${kind} proxy exited with ${String(code)} before it listened`))),
  ])) as [string];
  return {
    url,
    pid: child.pid ?? Number.NaN,
    async close() {
      child.disconnect();
      await exited;
    },
  };
}

const kind = process.env[KIND_ENV] as ProxyKind | undefined;
const upstreamUrl = process.env[UPSTREAM_ENV];
if (kind && upstreamUrl) {
  const proxy = kind === 'pipe' ? await startPipeProxy(upstreamUrl) : await startBareProxy(upstreamUrl);
  process.once('disconnect', () => void proxy.close().then(() => process.exit(0)));
  process.send?.(proxy.url);
}
