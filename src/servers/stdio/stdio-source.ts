import path from 'node:path';
import { createLogger, type Logger } from '../../shared/logger.ts';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../message-limit.ts';
import { createProxySource, createResourceWatches, withResourceWatches, type ProxySource, type RemoteSource } from '../remote/index.ts';
import { createStdioConnector } from './stdio-connection.ts';

/** An operator-approved command speaking MCP over stdio, and how to run it. */
export interface StdioSourceOptions {
  command: string;
  args?: readonly string[];
  /**
   * Variables for the child on top of the SDK's inherited allow-list (HOME,
   * LOGNAME, PATH, SHELL, TERM, USER); nothing else of the gateway's
   * environment reaches it.
   */
  env?: Readonly<Record<string, string>>;
  /** The child's working directory, created when missing. Default: the gateway's. */
  cwd?: string;
  /** Names the server in messages shown to the tenant. Default: the command's file name. */
  name?: string;
  /** The child is ended after this long without calls. Default 5 min. */
  idleMs?: number;
  /** Bound on each operation, starting the child included; progress restarts it. Default 30 s. */
  timeoutMs?: number;
  /** Bound on spawning the child and the MCP handshake. Default 10 s. */
  connectTimeoutMs?: number;
  /** The most one message from the child may hold (`BOTGATE_UPSTREAM_MESSAGE_LIMIT`). Default 16 MiB. */
  maxMessageBytes?: number;
  /** First restart delay after a crash, doubling per consecutive crash. Default 0.5 s. */
  backoffInitialMs?: number;
  /** Longest restart delay. Default 30 s. */
  backoffMaxMs?: number;
  /** Receives the child's stderr and its starts and exits. */
  logger?: Logger;
}

/** The remote source surface, over a child process. */
export interface StdioSource extends ProxySource, Required<Pick<RemoteSource, 'watchResource' | 'inUse'>> {
  /**
   * The running child's pid, if one runs (for diagnostics). A method, not a
   * getter, so wrappers that spread the source keep it live.
   */
  pid(): number | undefined;
}

/**
 * Runs an MCP server as a child process of the gateway, spawned on first
 * use, one per source. Calls use the v2 client over stdio exactly as remote
 * sources use it over HTTP. The child is ended after `idleMs` without calls
 * and on `close()`; a crash fails the calls in flight with `isError` results
 * and the next call restarts it after a backoff.
 */
export function createStdioSource(options: StdioSourceOptions): StdioSource {
  const idleMs = options.idleMs ?? 5 * 60_000;
  const logger = options.logger ?? createLogger({ level: 'silent' });
  const upstream = options.name ?? path.basename(options.command);
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const watches = createResourceWatches({
    // Starting the child is what subscribes the watched resources on it; during a crash backoff this fails and is retried.
    reconnect: async () => {
      await connector.acquire(() => AbortSignal.timeout(connectTimeoutMs));
    },
    onError: (error, uri) => logger.warn({ err: error, uri }, uri ? 'subscribing to a resource of the stdio server failed' : 'restarting the stdio server for resource watches failed'),
  });
  const connector = createStdioConnector({
    command: options.command,
    args: options.args ?? [],
    env: options.env ?? {},
    cwd: options.cwd,
    upstream,
    connectTimeoutMs,
    maxMessageBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    backoff: { initialMs: options.backoffInitialMs ?? 500, maxMs: options.backoffMaxMs ?? 30_000 },
    logger,
    watches,
  });
  const proxy = createProxySource({ connector, upstream, timeoutMs: options.timeoutMs ?? 30_000 });

  // Calls under way; the idle clock runs only while there are none.
  let busy = 0;
  let idleTimer: NodeJS.Timeout | undefined;
  let closed = false;

  function endIdleChild(): void {
    idleTimer = undefined;
    if (busy > 0 || closed) return;
    // A watched child is not idle; the idle clock starts when the last watch stops.
    if (watches.active) return;
    connector.stop().catch((error: unknown) => logger.warn({ err: error }, 'ending an idle stdio server failed'));
  }

  /** Wraps an operation so the child is not ended under it, and the idle clock restarts after it. */
  function tracked<A extends unknown[], R>(operation: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
    return async (...args) => {
      busy++;
      clearTimeout(idleTimer);
      try {
        return await operation(...args);
      } finally {
        busy--;
        armIdleTimer();
      }
    };
  }

  /** Starts the idle clock when nothing runs. */
  function armIdleTimer(): void {
    if (busy > 0 || closed) return;
    clearTimeout(idleTimer);
    idleTimer = setTimeout(endIdleChild, idleMs);
    idleTimer.unref();
  }

  const running: Omit<StdioSource, 'watchResource' | 'inUse' | 'check'> = {
    pid: () => connector.pid,
    listTools: tracked(proxy.listTools),
    callTool: tracked(proxy.callTool),
    listResources: tracked(proxy.listResources),
    listResourceTemplates: tracked(proxy.listResourceTemplates),
    readResource: tracked(proxy.readResource),
    listPrompts: tracked(proxy.listPrompts),
    getPrompt: tracked(proxy.getPrompt),
    complete: tracked(proxy.complete),
    instructions: tracked(proxy.instructions),
    async close() {
      closed = true;
      clearTimeout(idleTimer);
      await proxy.close();
    },
  };
  const source = withResourceWatches(running, watches);
  return {
    ...source,
    // A running child is held between requests: when its server is changed or deleted, the pool ends it at once.
    inUse: () => source.inUse() || connector.running,
    watchResource(uri, listener) {
      const stop = source.watchResource(uri, listener);
      return () => {
        stop();
        if (!watches.active) armIdleTimer();
      };
    },
  };
}
