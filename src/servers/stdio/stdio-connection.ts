import { mkdir } from 'node:fs/promises';
import { Client, type PriorDiscovery } from '@modelcontextprotocol/client';
import type { Logger } from '../../shared/logger.ts';
import { MessageTooLargeError } from '../message-limit.ts';
import {
  abortable,
  isTimeout,
  relayResourceUpdates,
  subscribeOnClient,
  trackPending,
  UPSTREAM_ASKABLE,
  UpstreamError,
  type PendingConnection,
  type ResourceWatches,
  type UpstreamConnector,
} from '../remote/index.ts';
import { ProcessGroupTransport, UnreadInputError } from './process-group-transport.ts';
import { createStderrLog } from './stderr-log.ts';

const CLIENT_INFO = { name: 'botgate', version: '0.1.0' };

/** A process that ran this long before exiting was healthy: its exit starts the backoff afresh. */
const STABLE_MS = 60_000;

export interface StdioConnectionOptions {
  command: string;
  args: readonly string[];
  /** Added to the SDK's inherited allow-list (HOME, LOGNAME, PATH, SHELL, TERM, USER), overriding it. */
  env: Readonly<Record<string, string>>;
  /** Working directory, created on first start when missing. */
  cwd: string | undefined;
  /** Names the server in messages shown to the tenant; never the operator's command line. */
  upstream: string;
  /** Bound on spawning the process and the MCP handshake. */
  connectTimeoutMs: number;
  /**
   * The most one message (one line) from the process may hold, and the most of
   * the gateway's messages it may leave unread; past either the connection
   * ends, as after a crash.
   */
  maxMessageBytes: number;
  /** Delay before the first restart after a crash, doubling per further crash up to `maxMs`. */
  backoff: { initialMs: number; maxMs: number };
  logger: Logger;
  /** Told of each child's connection as it opens and closes, and of the resource updates it sends. */
  watches?: Pick<ResourceWatches, 'connected' | 'disconnected' | 'deliver'> | undefined;
}

/** A connector that owns one child process at a time. */
export interface StdioConnector extends UpstreamConnector {
  /** The running child's pid, if one runs. */
  readonly pid: number | undefined;
  /** Whether a child is starting or runs. */
  readonly running: boolean;
  /** Ends the running child, if any, as planned (not a crash); the next `acquire` starts a new one. */
  stop(): Promise<void>;
}

interface Connection {
  client: Client;
  pid: number | undefined;
  startedAt: number;
  /** Set when the gateway ends the process, so its exit is not taken for a crash. */
  stopping: boolean;
}

type Pending = PendingConnection<Connection>;

/**
 * Starts the command on first use and keeps one child per connector. A child
 * that exits on its own fails the calls it was serving (the client rejects
 * them); the next call starts a new child, but only after a backoff that
 * doubles per consecutive crash, and calls during the backoff fail at once.
 */
export function createStdioConnector(options: StdioConnectionOptions): StdioConnector {
  const { upstream, logger, backoff } = options;
  const stderr = createStderrLog(logger);
  let current: Pending | undefined;
  let closed = false;
  // The era verdict of the first start, reused by restarts so they skip the probe.
  let prior: PriorDiscovery | undefined;
  let crashes = 0;
  let retryAt = 0;
  // What the backoff is after, for calls refused meanwhile.
  let lastFailure = '';
  // Why each ended child's calls failed, in words for the tenant rather than "Connection closed".
  const endings = new WeakMap<Client, Error>();

  const unavailable = (reason: string, cause?: unknown) =>
    new UpstreamError(`upstream ${upstream} unavailable: ${reason}`, 'unavailable', undefined, { cause });

  /** Counts a failure, saying what it was, and returns how long the next start waits. */
  function scheduleRestart(failure: string): number {
    lastFailure = failure;
    crashes++;
    const delay = Math.min(backoff.initialMs * 2 ** (crashes - 1), backoff.maxMs);
    retryAt = Date.now() + delay;
    return delay;
  }

  function onExit(connection: Connection): void {
    if (current?.connection === connection) current = undefined;
    if (connection.stopping || closed) return;
    const uptimeMs = Date.now() - connection.startedAt;
    if (uptimeMs >= STABLE_MS) crashes = 0;
    const restartInMs = scheduleRestart('it exited unexpectedly');
    logger.warn({ pid: connection.pid, uptimeMs, restartInMs, stderr: stderr.tail() }, 'stdio server exited unexpectedly');
  }

  async function stopConnection(connection: Connection): Promise<void> {
    connection.stopping = true;
    endings.set(connection.client, unavailable('it was stopped'));
    // Closes stdin, then escalates to SIGTERM and SIGKILL if the child lingers.
    await connection.client.close().catch(() => undefined);
  }

  async function start(): Promise<Connection> {
    if (options.cwd) await mkdir(options.cwd, { recursive: true, mode: 0o700 });
    const transport = new ProcessGroupTransport({
      command: options.command,
      args: [...options.args],
      env: { ...options.env },
      ...(options.cwd && { cwd: options.cwd }),
      stderr: 'pipe',
      maxBufferSize: options.maxMessageBytes,
    });
    let pid: number | undefined;
    // Followed before the start so a child writing much at startup never blocks on a full pipe.
    if (transport.stderr) stderr.follow(transport.stderr, () => pid ?? transport.pid ?? undefined);
    const client = new Client(CLIENT_INFO, {
      versionNegotiation: { mode: 'auto', probe: { timeoutMs: options.connectTimeoutMs } },
      // Input an upstream asks for is the calling client's to give: passed on, never fulfilled here.
      inputRequired: { autoFulfill: false },
      // MCP Apps views, as remote servers are told (upstream-connection.ts): commands offer app tools only to clients that declare them.
      capabilities: { extensions: UPSTREAM_ASKABLE.extensions },
    });
    const { watches } = options;
    if (watches) relayResourceUpdates(client, watches);
    const startedAt = Date.now();
    try {
      await client.connect(transport, { timeout: options.connectTimeoutMs, ...(prior && { prior }) });
    } catch (error) {
      prior = undefined;
      await client.close().catch(() => undefined);
      const restartInMs = scheduleRestart('it failed to start');
      logger.warn({ err: error, restartInMs, stderr: stderr.tail() }, 'stdio server failed to start');
      // The operator's command line and the child's output stay in the log, out of the tenant's sight.
      const reason = isTimeout(error)
        ? `it did not answer within ${options.connectTimeoutMs} ms of starting`
        : 'it failed to start';
      throw unavailable(reason, error);
    }
    pid = transport.pid ?? undefined;
    const connection: Connection = { client, pid, startedAt, stopping: false };
    const subscribe = subscribeOnClient(client, options.connectTimeoutMs);
    client.onerror = (error) => {
      if (error instanceof MessageTooLargeError) endings.set(client, error);
      if (error instanceof UnreadInputError) endings.set(client, unavailable(error.message));
    };
    client.onclose = () => {
      if (!connection.stopping && !closed && !endings.has(client)) endings.set(client, unavailable('it exited unexpectedly'));
      onExit(connection);
      watches?.disconnected(subscribe);
    };
    if (closed) {
      await stopConnection(connection);
      throw unavailable('the source was closed');
    }
    if (!prior) {
      const discover = client.getDiscoverResult();
      prior = client.getProtocolEra() === 'modern' && discover ? { kind: 'modern', discover } : { kind: 'legacy' };
    }
    logger.info({ pid }, 'stdio server started');
    watches?.connected(subscribe);
    return connection;
  }

  function takeCurrent(): Pending | undefined {
    const entry = current;
    current = undefined;
    return entry;
  }

  async function stopEntry(entry: Pending | undefined): Promise<void> {
    const connection = await entry?.promise.catch(() => undefined);
    if (connection) await stopConnection(connection);
  }

  return {
    get pid() {
      return current?.connection?.pid;
    },

    get running() {
      return current !== undefined;
    },

    async acquire(wait) {
      if (closed) throw unavailable('the source was closed');
      const open = current?.connection;
      if (open) return { client: open.client, fresh: false };
      let fresh = false;
      if (!current) {
        const waitMs = retryAt - Date.now();
        if (waitMs > 0) {
          throw unavailable(`${lastFailure} and is restarted in ${Math.ceil(waitMs / 100) / 10} s; try again then`);
        }
        current = trackPending(start(), (entry) => {
          if (current === entry) current = undefined;
        });
        fresh = true;
      }
      const { client } = await abortable(current.promise, wait());
      return { client, fresh };
    },

    // A timed-out request is not a dead child: the child is kept, and replaced only when it exits.
    discard: () => undefined,

    endedBy: (client) => endings.get(client),

    stop: () => stopEntry(takeCurrent()),

    async close() {
      closed = true;
      await stopEntry(takeCurrent());
    },
  };
}
