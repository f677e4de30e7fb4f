import fs from 'node:fs/promises';
import type { CallToolResult } from '@modelcontextprotocol/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabaseSource } from '../../src/servers/database/index.ts';
import { createOutboundGuard } from '../../src/servers/outbound.ts';
import type { ToolSource } from '../../src/servers/tool-source.ts';
import { createThrowawayPostgres, TEST_DATABASE_URL } from '../support/databases.ts';
import { makeLoopbackCertificate } from '../support/oauth.ts';
import { startPostgresTlsFront, type PostgresTlsFront } from '../support/postgres-tls-front.ts';

const data = (result: CallToolResult) => (result.structuredContent ?? {}) as Record<string, unknown>;
const text = (result: CallToolResult) => result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
const context = () => ({ signal: new AbortController().signal, progress: () => Promise.resolve() });

// Managed PostgreSQL services take TLS connections only: the database server's connections, and
// the bound on what one call may receive, must work through TLS as they do in the clear.
describe.skipIf(!TEST_DATABASE_URL)('database server over TLS', () => {
  let throwaway: { url: string; drop(): Promise<void> } | undefined;
  let certificate: Awaited<ReturnType<typeof makeLoopbackCertificate>> | undefined;
  let front: PostgresTlsFront | undefined;
  const sources: ToolSource[] = [];
  const { createSocket } = createOutboundGuard({ allowPrivateNetworks: ['127.0.0.0/8'] });

  /** A source for the throwaway database through the TLS front, with `sslmode` and more as given, and `ca` if given. */
  function sourceWith(search: Record<string, string>, ca?: string): ToolSource {
    const url = new URL(throwaway?.url ?? '');
    url.port = String(front?.port);
    for (const [name, value] of Object.entries(search)) url.searchParams.set(name, value);
    const source = createDatabaseSource({ url: url.toString(), createSocket, ...(ca !== undefined && { ca }) });
    sources.push(source);
    return source;
  }

  beforeAll(async () => {
    throwaway = await createThrowawayPostgres(TEST_DATABASE_URL ?? '');
    certificate = await makeLoopbackCertificate();
    const target = new URL(throwaway.url);
    front = await startPostgresTlsFront({ host: target.hostname, port: Number(target.port || 5432) }, certificate);
  });

  afterAll(async () => {
    await Promise.all(sources.map((source) => source.close()));
    await front?.close();
    await throwaway?.drop();
    if (certificate) await fs.rm(certificate.dir, { recursive: true, force: true });
  });

  it('queries a database that takes TLS only, verifying its certificate', async () => {
    const source = sourceWith({ sslmode: 'verify-full', sslrootcert: certificate?.certFile ?? '' });

    const result = await source.callTool('query', { sql: 'select 40 + 2 as answer' }, context());

    expect(result.isError ?? false).toBe(false);
    expect(data(result)['rows']).toEqual([[42]]);
    expect(front?.secureSessions()).toBeGreaterThan(0);
  });

  it('refuses a certificate it cannot verify, and a connection without TLS, with the reason', async () => {
    const untrusted = await sourceWith({ sslmode: 'verify-full' }).callTool('query', { sql: 'select 1' }, context());
    const plain = await sourceWith({ sslmode: 'disable' }).callTool('query', { sql: 'select 1' }, context());

    expect(untrusted.isError).toBe(true);
    expect(text(untrusted)).toMatch(/^Could not reach the database: .*self-signed certificate/);
    expect(plain.isError).toBe(true);
    expect(text(plain)).toMatch(/^Could not reach the database: /);
  });

  it('verifies the database against the certificates configured as its CA, whatever sslmode the URL says', async () => {
    const pem = certificate?.cert.toString('utf8') ?? '';
    const other = await makeLoopbackCertificate();
    try {
      const before = front?.secureSessions() ?? 0;
      const trusted = await Promise.all(
        ([{}, { sslmode: 'disable' }, { sslmode: 'no-verify' }] as Array<Record<string, string>>).map((search) => sourceWith(search, pem).callTool('query', { sql: 'select 1 as one' }, context())),
      );
      // The front's certificate is not the one configured: refused, even where the URL asked for no verification.
      const mistrusted = await sourceWith({ sslmode: 'no-verify' }, other.cert.toString('utf8')).callTool('query', { sql: 'select 1' }, context());

      expect(trusted.map((result) => data(result)['rows'])).toEqual([[[1]], [[1]], [[1]]]);
      expect(front?.secureSessions()).toBe(before + 3);
      expect(mistrusted.isError).toBe(true);
      expect(text(mistrusted)).toMatch(/^Could not reach the database: .*certificate/);
    } finally {
      await fs.rm(other.dir, { recursive: true, force: true });
    }
  });

  it('stops a call once the database has sent more than its wire budget through TLS, and keeps working', async () => {
    const source = sourceWith({ sslmode: 'verify-full', sslrootcert: certificate?.certFile ?? '' });

    const huge = await source.callTool('query', { sql: "select repeat('x', 40000000) as huge" }, context());
    const large = await source.callTool('query', { sql: "select repeat('y', 3000000) as large" }, context());
    const after = await source.callTool('query', { sql: 'select 1 as one' }, context());

    expect(huge.isError).toBe(true);
    expect(text(huge)).toMatch(/^The database sent more than 20 MiB for this call, so it was stopped/);
    expect(large.isError ?? false).toBe(false);
    expect(text(large)).toContain('Truncated: the result passed 1048576 bytes');
    expect(data(after)['rows']).toEqual([[1]]);
  });
});
