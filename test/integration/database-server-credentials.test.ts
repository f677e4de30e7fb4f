import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabaseSource } from '../../src/servers/database/index.ts';
import { createOutboundGuard } from '../../src/servers/outbound.ts';
import { KIND_SCHEMAS } from '../../src/servers/kinds.ts';

/** What a database that asks for a cleartext password was sent: the startup parameters, and the password. */
interface Received {
  startup: Record<string, string>;
  password: string | undefined;
}

/** A PostgreSQL server on 127.0.0.1 that asks every client for a cleartext password, notes what it gets, and refuses it. */
async function startPasswordTrap(): Promise<{ port: number; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server = net.createServer((socket) => {
    let buffer = Buffer.alloc(0);
    let current: Received | undefined;
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!current && buffer.length >= 8) {
        const length = buffer.readInt32BE(0);
        if (buffer.readInt32BE(4) === 80877103) {
          // SSLRequest: no TLS here.
          socket.write('N');
          buffer = buffer.subarray(8);
          return;
        }
        if (buffer.length < length) return;
        const fields = buffer.subarray(8, length - 1).toString('utf8').split('\0');
        const startup: Record<string, string> = {};
        for (let i = 0; i + 1 < fields.length; i += 2) startup[fields[i] as string] = fields[i + 1] as string;
        current = { startup, password: undefined };
        received.push(current);
        buffer = buffer.subarray(length);
        const ask = Buffer.alloc(9);
        ask.write('R');
        ask.writeInt32BE(8, 1);
        ask.writeInt32BE(3, 5);
        socket.write(ask);
        return;
      }
      if (current && buffer.length >= 5 && buffer[0] === 0x70) {
        current.password = buffer.subarray(5, 1 + buffer.readInt32BE(1) - 1).toString('utf8');
        const message = 'SFATAL\0C28P01\0Mpassword authentication failed\0\0';
        const refusal = Buffer.alloc(5 + message.length);
        refusal.write('E');
        refusal.writeInt32BE(4 + message.length, 1);
        refusal.write(message, 5, 'binary');
        socket.end(refusal);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, received, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

// What a tenant's URL leaves out, pg would fill from the gateway's environment: the operator's credentials.
describe('database server: a tenant’s URL never borrows the gateway’s credentials', () => {
  let trap: Awaited<ReturnType<typeof startPasswordTrap>>;
  const saved = { PGPASSWORD: process.env['PGPASSWORD'], PGUSER: process.env['PGUSER'], PGDATABASE: process.env['PGDATABASE'] };
  const { createSocket } = createOutboundGuard({ allowPrivateNetworks: ['127.0.0.0/8'] });

  beforeAll(async () => {
    trap = await startPasswordTrap();
    Object.assign(process.env, { PGPASSWORD: 'operator-password', PGUSER: 'operator', PGDATABASE: 'operator_db' });
  });

  afterAll(async () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await trap?.close();
  });

  it('sends the URL’s user with no password when the URL gives none, not PGPASSWORD', async () => {
    const source = createDatabaseSource({ url: `postgres://tenant@127.0.0.1:${trap.port}`, createSocket });
    const result = await source.callTool('query', { sql: 'select 1' }, { signal: new AbortController().signal, progress: async () => {} });
    await source.close();

    expect(result.isError).toBe(true);
    expect(trap.received.at(-1)).toEqual({ startup: expect.objectContaining({ user: 'tenant', database: 'tenant' }), password: '' });
  });

  it('refuses a URL that names no user when the server is configured, naming the form', () => {
    const checked = KIND_SCHEMAS.database.secrets.safeParse({ url: `postgres://127.0.0.1:${trap.port}/shop` });
    expect(checked.error?.issues.map((issue) => issue.message)).toEqual(['must name the user to connect as: postgres://user:password@host/database']);
    expect(KIND_SCHEMAS.database.secrets.safeParse({ url: `postgres://tenant@127.0.0.1:${trap.port}/shop` }).success).toBe(true);
  });
});
