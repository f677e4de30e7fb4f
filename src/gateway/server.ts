import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import type { Express } from 'express';
import { ConfigError } from '../shared/config.ts';

export interface RunningServer {
  /** Base URL the server answers on, with the actual port. */
  url: string;
  /**
   * Stops accepting, lets in-flight requests finish (up to `graceMs`), then awaits
   * `beforeClosing` (which may end what still runs, so that it answers instead of
   * being cut off) and closes what is left.
   */
  close(graceMs?: number, beforeClosing?: () => Promise<unknown>): Promise<void>;
}

/** How often a closing server closes the connections that have become idle. */
const IDLE_SWEEP_MS = 50;

interface ListenOptions {
  host: string;
  port: number;
}

/** Why host:port cannot be listened on, in words that say what to change; other errors as they are. */
function listenError(error: unknown, { host, port }: ListenOptions): unknown {
  switch ((error as NodeJS.ErrnoException).code) {
    case 'EADDRINUSE':
      return new ConfigError(`port ${port} on ${host} is already in use (another gateway?); set PORT to a free port`, { cause: error });
    case 'EACCES':
      return new ConfigError(`not allowed to listen on port ${port} on ${host}; set PORT to 1024 or above`, { cause: error });
    case 'EADDRNOTAVAIL':
      return new ConfigError(`${host} is not an address of this machine; set HOST to one of its addresses, or 0.0.0.0 for all`, { cause: error });
    default:
      return error;
  }
}

/**
 * Fails as `listen` would if host:port cannot be listened on (taken, privileged),
 * so that a gateway that cannot serve says so before it opens or migrates a
 * database. Port 0 always can be.
 */
export async function checkCanListen(options: ListenOptions): Promise<void> {
  if (options.port === 0) return;
  const probe = net.createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', (error) => reject(listenError(error, options)));
    probe.listen(options.port, options.host, () => probe.close(() => resolve()));
  });
}

/** Listens on host:port (port 0 picks a free one). */
export async function listen(app: Express, options: ListenOptions): Promise<RunningServer> {
  const server = http.createServer(app);
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    const failed = (error: Error) => reject(listenError(error, options));
    server.once('error', failed);
    server.listen(options.port, options.host, () => {
      server.off('error', failed);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${address.port}`,
    close: (graceMs = 10_000, beforeClosing) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          // A failure of `beforeClosing` is its caller's to report; the connections are closed regardless.
          void Promise.resolve(beforeClosing?.())
            .catch(() => undefined)
            .then(() => server.closeAllConnections());
        }, graceMs);
        timer.unref();
        // A connection whose response ends after this (a stream the shutdown ends) is closed once idle too,
        // rather than kept until its client lets it go (an idle keep-alive connection is its client's for seconds).
        const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
        sweep.unref();
        server.close(() => {
          clearTimeout(timer);
          clearInterval(sweep);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
