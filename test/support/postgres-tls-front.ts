import net from 'node:net';
import tls from 'node:tls';

/** PostgreSQL's SSLRequest: a length of 8, then this code. */
const SSL_REQUEST_CODE = 80877103;

export interface PostgresTlsFront {
  port: number;
  /** Connections that completed a TLS handshake. */
  secureSessions(): number;
  close(): Promise<void>;
}

/**
 * A PostgreSQL server that speaks TLS only, in front of one that does not: it
 * answers a client's SSLRequest with 'S', completes the handshake with `cert`
 * and `key`, and relays the decrypted protocol to `target`. A client that
 * starts without asking for TLS is disconnected, as by `hostssl`-only rules.
 */
export async function startPostgresTlsFront(target: { host: string; port: number }, credentials: { cert: Buffer; key: Buffer }): Promise<PostgresTlsFront> {
  let secureSessions = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.once('data', (first: Buffer) => {
      if (first.length !== 8 || first.readInt32BE(0) !== 8 || first.readInt32BE(4) !== SSL_REQUEST_CODE) {
        socket.destroy();
        return;
      }
      socket.pause();
      socket.write('S');
      const secure = new tls.TLSSocket(socket, { isServer: true, cert: credentials.cert, key: credentials.key });
      const upstream = net.connect(target);
      sockets.add(upstream);
      const end = () => {
        secure.destroy();
        upstream.destroy();
      };
      secure.on('secure', () => (secureSessions += 1));
      secure.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
      secure.pipe(upstream).pipe(secure);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    secureSessions: () => secureSessions,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
