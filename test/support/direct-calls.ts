import fs from 'node:fs/promises';
import path from 'node:path';
import { operatorCommand } from './http.ts';
import { startRecordedGateway, type RecordedGateway } from './recorded-gateway.ts';

/**
 * The gateway of the direct tool-call tests: tenant `acme` with the recording
 * upstream as `rec` and as `impatient` (a 1 s timeout), a filesystem server
 * `files` holding `note.txt`, and `readerKey`, which may use only
 * `files__read_file` and `rec`.
 */
export interface DirectCallsGateway extends RecordedGateway {
  readerKey: string;
  /** The `files` server's own directory. */
  filesDir: string;
}

export async function startDirectCallsGateway(): Promise<DirectCallsGateway> {
  const setup = await startRecordedGateway();
  const { dataDir, upstream } = setup;
  await operatorCommand(dataDir, 'server.create', { tenant: 'acme', slug: 'files', kind: 'filesystem' });
  await operatorCommand(dataDir, 'server.create', { tenant: 'acme', slug: 'impatient', kind: 'remote', config: { url: upstream.url, timeoutMs: 1_000 } });
  const { key } = await operatorCommand<{ key: { secret: string } }>(dataDir, 'key.create', {
    tenant: 'acme',
    name: 'reader',
    scopes: ['mcp'],
    tools: ['files__read_file', 'rec'],
  });
  const filesDir = path.join(dataDir, 'files', 'acme', 'files');
  await fs.mkdir(filesDir, { recursive: true });
  await fs.writeFile(path.join(filesDir, 'note.txt'), 'a note\n');
  return { ...setup, readerKey: key.secret, filesDir };
}

/** Calls the direct path of either era must answer as the SDK's path does; `reader`: with the reader's key. */
export const CALLS_ANSWERED_ALIKE: ReadonlyArray<{ what: string; endpoint: string; name: string; args?: Record<string, unknown>; reader?: boolean }> = [
  { what: 'a result', endpoint: '/t/acme/mcp/servers/files', name: 'read_file', args: { path: 'note.txt' } },
  { what: 'a tool error', endpoint: '/t/acme/mcp/servers/files', name: 'read_file', args: { path: 'missing.txt' } },
  { what: 'an aggregate name', endpoint: '/t/acme/mcp', name: 'files__read_file', args: { path: 'note.txt' } },
  { what: 'an upstream result with structured content', endpoint: '/t/acme/mcp/servers/rec', name: 'count', args: { to: 2 } },
  { what: 'an upstream tool error', endpoint: '/t/acme/mcp/servers/rec', name: 'report-failure' },
  { what: 'an unknown tool', endpoint: '/t/acme/mcp/servers/files', name: 'nope' },
  { what: 'a tool the key may not use', endpoint: '/t/acme/mcp', name: 'files__write_file', args: { path: 'x.txt', content: 'x' }, reader: true },
  { what: 'invalid arguments', endpoint: '/t/acme/mcp/servers/files', name: 'read_file', args: { path: 42 } },
];
