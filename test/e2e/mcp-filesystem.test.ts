import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDataDir, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { runCliInProcess } from '../support/cli.ts';
import { apiClient, operatorCommand, seedTenant, type AuditEventJson } from '../support/http.ts';
import { CLIENTS, connectV2 } from '../support/mcp-clients.ts';

const textOf = (result: { content: unknown[] }) =>
  result.content.map((c) => (c as { text?: string }).text ?? '').join('\n');

describe('MCP endpoints over a filesystem server', () => {
  let gateway: GatewayProcess;
  let dataDir: string;
  let acmeKey: string;
  let otherKey: string;

  beforeAll(async () => {
    dataDir = await makeDataDir();
    // A small quota, so that the quota test fills an area quickly; the other tests write a few bytes.
    gateway = await startGateway({ dataDir, env: { BOTGATE_FS_QUOTA: '1mb' } });
    acmeKey = (await seedTenant(dataDir, 'acme')).key.secret;
    otherKey = (await seedTenant(dataDir, 'other')).key.secret;
    await operatorCommand(dataDir, 'server.create', { tenant: 'acme', slug: 'files', kind: 'filesystem' });
    await operatorCommand(dataDir, 'server.create', {
      tenant: 'acme',
      slug: 'docs',
      kind: 'filesystem',
      config: { roots: ['docs'], readOnly: true },
    });
    await operatorCommand(dataDir, 'server.create', { tenant: 'other', slug: 'files', kind: 'filesystem' });
    await fs.mkdir(path.join(dataDir, 'files', 'acme', 'docs'), { recursive: true });
    await fs.writeFile(path.join(dataDir, 'files', 'acme', 'docs', 'readme.md'), 'hello from docs\n');
  });

  afterAll(async () => {
    await gateway?.stop();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  for (const [name, connect] of CLIENTS) {
    it(`serves the aggregate endpoint to the ${name} client, tools namespaced by server`, async () => {
      const client = await connect(`${gateway.url}/t/acme/mcp`, acmeKey);
      try {
        const tools = await client.listToolNames();
        expect(tools).toContain('files__write_file');
        expect(tools).toContain('docs__read_file');
        expect(tools).not.toContain('docs__write_file');

        const written = await client.callTool('files__write_file', { path: `from-${name}.txt`, content: `written by ${name}` });
        expect(written.isError ?? false).toBe(false);
        const read = await client.callTool('files__read_file', { path: `from-${name}.txt` });
        expect(textOf(read)).toContain(`written by ${name}`);
        expect(textOf(await client.callTool('docs__read_file', { path: 'readme.md' }))).toContain('hello from docs');
      } finally {
        await client.close();
      }
      expect(await fs.readFile(path.join(dataDir, 'files', 'acme', 'files', `from-${name}.txt`), 'utf8')).toBe(`written by ${name}`);
    });

    it(`serves one server at /t/acme/mcp/servers/docs to the ${name} client`, async () => {
      const client = await connect(`${gateway.url}/t/acme/mcp/servers/docs`, acmeKey);
      try {
        const tools = await client.listToolNames();
        expect(tools).toContain('read_file');
        expect(tools).not.toContain('write_file');
        const escaped = await client.callTool('read_file', { path: '../../../secret.key' });
        expect(escaped.isError).toBe(true);
        expect(textOf(escaped)).not.toMatch(/[0-9a-f]{64}/);
      } finally {
        await client.close();
      }
    });
  }

  it('shows paths inside the tenant’s area, never where the operator keeps DATA_DIR', async () => {
    const client = await connectV2(`${gateway.url}/t/acme/mcp`, acmeKey);
    try {
      const results = [
        await client.callTool('files__list_allowed_directories', {}),
        await client.callTool('docs__list_allowed_directories', {}),
        await client.callTool('files__read_file', { path: 'no-such-file.txt' }),
        await client.callTool('docs__search_files', { path: '/docs', pattern: '*.md' }),
      ];
      expect(results.map(textOf)).toEqual([
        'Allowed directories (read-write):\n/files',
        'Allowed directories (read-only):\n/docs',
        'No such file or directory: /files/no-such-file.txt',
        '/docs/readme.md',
      ]);
      for (const result of results) expect(JSON.stringify(result)).not.toContain(dataDir);
      expect(textOf(await client.callTool('docs__read_file', { path: '/docs/readme.md' }))).toBe('hello from docs\n');
    } finally {
      await client.close();
    }
  });

  it('answers a path too long once in the area, or one starting with "~", with why, not as an unexpected failure', async () => {
    // Existing directories, so that the lookup reaches a name past PATH_MAX (4095 bytes) once the area's path is in front.
    const existing = `${'d'.repeat(200)}/`.repeat(19);
    const long = `${existing}${'f'.repeat(250)}`;
    const area = path.join(dataDir, 'files', 'acme', 'files');
    await fs.mkdir(path.join(area, existing), { recursive: true });
    const client = await connectV2(`${gateway.url}/t/acme/mcp`, acmeKey);
    try {
      const read = await client.callTool('files__read_file', { path: long });
      expect(read.isError).toBe(true);
      expect(textOf(read)).toMatch(/^Path too long: "d{60}…" \(4069 characters\) resolves to a path of 4\d{3} bytes .* over the system limit of 4095 bytes/);
      const home = await client.callTool('files__write_file', { path: '~/notes.txt', content: 'x' });
      expect(home.isError).toBe(true);
      expect(textOf(home)).toMatch(/^Invalid path: "~\/notes\.txt" starts with "~"/);
    } finally {
      await client.close();
      await fs.rm(path.join(area, 'd'.repeat(200)), { recursive: true });
    }
    await expect(fs.stat(path.join(area, '~'))).rejects.toThrow(/ENOENT/);
  });

  it('negotiates the 2026-07-28 revision with the v2 client', async () => {
    const client = await connectV2(`${gateway.url}/t/acme/mcp`, acmeKey);
    expect(client.era()).toBe('modern');
    await client.close();
  });

  it('lists an outputSchema on every filesystem tool to the v1 client, which checks a call’s structuredContent against it', async () => {
    await fs.writeFile(path.join(dataDir, 'files', 'acme', 'files', 'data.bin'), Buffer.from([0, 1, 2, 255]));
    const client = new V1Client({ name: 'e2e-v1-schemas', version: '1.0.0' });
    await client.connect(
      new V1Transport(new URL(`${gateway.url}/t/acme/mcp/servers/files`), { requestInit: { headers: { authorization: `Bearer ${acmeKey}` } } }),
    );
    try {
      const { tools } = await client.listTools();
      expect(tools).toHaveLength(14);
      const content = (name: string) => tools.find((t) => t.name === name)?.outputSchema?.properties?.['content'];
      for (const tool of tools) {
        expect({ name: tool.name, outputSchema: tool.outputSchema }).toMatchObject({
          name: tool.name,
          outputSchema: { type: 'object', required: expect.arrayContaining(['content']) },
        });
      }
      for (const name of ['read_text_file', 'read_multiple_files', 'list_directory', 'directory_tree', 'search_files', 'get_file_info', 'write_file', 'edit_file', 'move_file']) {
        expect({ name, content: content(name) }).toMatchObject({ name, content: { type: 'string' } });
      }
      expect(JSON.stringify(content('read_media_file'))).toMatch(/"image".*"audio".*"resource"/);
      expect(content('read_file')).toMatchObject({ anyOf: [{ type: 'string' }, { type: 'array' }] });

      const blob = await client.callTool({ name: 'read_media_file', arguments: { path: 'data.bin' } });
      expect(blob.content).toEqual([
        { type: 'resource', resource: { uri: pathToFileURL('/files/data.bin').href, mimeType: 'application/octet-stream', blob: 'AAEC/w==' } },
      ]);
      expect(blob.structuredContent).toEqual({ content: blob.content });
      const info = await client.callTool({ name: 'get_file_info', arguments: { path: 'data.bin' } });
      expect(info.structuredContent).toMatchObject({ content: textOf(info as { content: unknown[] }), path: '/files/data.bin', size: 4, isFile: true });
    } finally {
      await client.close();
    }
  });

  for (const [name, connect] of CLIENTS) {
    it(`gives the ${name} client structuredContent that its SDK checks against each outputSchema: text, media blocks, or either`, async () => {
      const area = path.join(dataDir, 'files', 'acme', 'files');
      const png = Buffer.from('89504e470d0a1a0a', 'hex');
      await fs.writeFile(path.join(area, `pixel-${name}.png`), png);
      const client = await connect(`${gateway.url}/t/acme/mcp`, acmeKey);
      try {
        // Listing first: the SDK checks a call's structuredContent against the outputSchema it listed.
        expect(await client.listToolNames()).toContain('files__read_media_file');
        const written = await client.callTool('files__write_file', { path: `schema-${name}.txt`, content: 'one\ntwo\n' });
        expect(written.structuredContent).toEqual({ content: textOf(written), path: `/files/schema-${name}.txt`, created: true, bytes: 8 });
        const text = await client.callTool('files__read_text_file', { path: `schema-${name}.txt`, tail: 1 });
        expect(text.structuredContent).toEqual({ content: 'two' });
        const listed = await client.callTool('files__list_directory', { path: '/files' });
        expect(listed.structuredContent).toMatchObject({ content: textOf(listed), path: '/files', truncated: false });

        const image = await client.callTool('files__read_media_file', { path: `pixel-${name}.png` });
        expect(image.content).toEqual([{ type: 'image', data: png.toString('base64'), mimeType: 'image/png' }]);
        expect(image.structuredContent).toEqual({ content: image.content });

        const binary = await client.callTool('files__read_file', { path: `pixel-${name}.png` });
        expect(binary.content).toHaveLength(2);
        expect(binary.structuredContent).toEqual({ content: binary.content });
        const plain = await client.callTool('files__read_file', { path: `schema-${name}.txt` });
        expect(plain.structuredContent).toEqual({ content: 'one\ntwo\n' });

        const failed = await client.callTool('files__read_text_file', { path: `pixel-${name}.png` });
        expect(failed.isError).toBe(true);
        expect(failed.structuredContent).toBeUndefined();
      } finally {
        await client.close();
      }
    });
  }

  it('answers another tenant’s key, an unknown server and a missing key as a missing endpoint would', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } } });
    const post = (url: string, key?: string) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(key && { authorization: `Bearer ${key}` }) },
        body,
      });
    expect((await post(`${gateway.url}/t/acme/mcp`, otherKey)).status).toBe(404);
    expect((await post(`${gateway.url}/t/acme/mcp/servers/files`, otherKey)).status).toBe(404);
    expect((await post(`${gateway.url}/t/acme/mcp/servers/nope`, acmeKey)).status).toBe(404);
    expect((await post(`${gateway.url}/t/nobody/mcp`, acmeKey)).status).toBe(404);
    const anonymous = await post(`${gateway.url}/t/acme/mcp`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('refuses a rebound Host or a foreign Origin before authenticating (DNS rebinding)', async () => {
    const post = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const request = http.request(
          `${gateway.url}/t/acme/mcp`,
          { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${acmeKey}`, ...headers } },
          (response) => {
            response.resume();
            resolve(response.statusCode ?? 0);
          },
        );
        request.on('error', reject);
        request.end('{}');
      });
    expect(await post({ host: 'attacker.example' })).toBe(403);
    expect(await post({ origin: 'http://attacker.example' })).toBe(403);
    expect(await post({ origin: 'http://localhost:6274' })).not.toBe(403);
  });

  it('shows a restricted key only its servers and tools, and refuses the rest', async () => {
    const { key } = await operatorCommand<{ key: { secret: string } }>(dataDir, 'key.create', {
      tenant: 'acme',
      name: 'docs and reading',
      scopes: ['mcp'],
      tools: ['docs', 'files__read_file'],
    });
    const client = await connectV2(`${gateway.url}/t/acme/mcp`, key.secret);
    try {
      const tools = await client.listToolNames();
      expect(tools).toContain('docs__list_directory');
      expect(tools).toContain('files__read_file');
      expect(tools.filter((t) => t.startsWith('files__'))).toEqual(['files__read_file']);
      const refused = await client.callTool('files__write_file', { path: 'sneaky.txt', content: 'x' });
      expect(refused.isError).toBe(true);
      expect(textOf(refused)).toMatch(/may not use the tool write_file/);
    } finally {
      await client.close();
    }
    await expect(fs.stat(path.join(dataDir, 'files', 'acme', 'files', 'sneaky.txt'))).rejects.toThrow(/ENOENT/);

    const { key: docsOnly } = await operatorCommand<{ key: { secret: string } }>(dataDir, 'key.create', {
      tenant: 'acme',
      name: 'docs only',
      scopes: ['mcp'],
      tools: ['docs'],
    });
    const response = await fetch(`${gateway.url}/t/acme/mcp/servers/files`, {
      method: 'POST',
      headers: { authorization: `Bearer ${docsOnly.secret}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: '{}',
    });
    // A server the key may not use looks like one that does not exist.
    expect(response.status).toBe(404);
  });

  for (const framing of ['with its length', 'chunked'] as const) {
    it(`answers a body over 4 MiB (${framing}) with the 413 only once the client has sent it all, so the client reads it rather than a reset`, async () => {
      const call = JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'files__write_file', arguments: { path: 'big.txt', content: 'x'.repeat(5 * 1024 * 1024) } },
      });
      const body = Buffer.from(call);
      let wholeBodyWritten = false;
      const answer = await new Promise<{ status: number | undefined; text: string; afterWholeBody: boolean }>((resolve, reject) => {
        const req = http.request(`${gateway.url}/t/acme/mcp`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${acmeKey}`,
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            ...(framing === 'with its length' && { 'content-length': String(body.length) }),
          },
        });
        req.on('response', (res) => {
          // The gateway can have read the last byte only once it was written.
          const afterWholeBody = wholeBodyWritten;
          let text = '';
          res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode, text, afterWholeBody }));
        });
        req.on('error', reject);
        // Sent in paced pieces, as a slow link would: a refusal sent at once would reach the client mid-body.
        const send = async () => {
          for (let offset = 0; offset < body.length; offset += 256 * 1024) {
            wholeBodyWritten = offset + 256 * 1024 >= body.length;
            req.write(body.subarray(offset, offset + 256 * 1024));
            await new Promise((next) => setTimeout(next, 10));
          }
          req.end();
        };
        void send();
      });
      expect(answer.status).toBe(413);
      expect(JSON.parse(answer.text)).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32000, message: 'Payload Too Large: Request body must not exceed 4194304 bytes' } });
      expect(answer.afterWholeBody).toBe(true);
      await expect(fs.access(path.join(dataDir, 'files', 'acme', 'files', 'big.txt'))).rejects.toThrow(/ENOENT/);
    });
  }

  it('refuses a write that would fill the tenant’s area past BOTGATE_FS_QUOTA, and leaves other tenants’ areas alone', async () => {
    const acme = await connectV2(`${gateway.url}/t/acme/mcp`, acmeKey);
    const other = await connectV2(`${gateway.url}/t/other/mcp`, otherKey);
    const content = 'q'.repeat(600 * 1024);
    try {
      const first = await acme.callTool('files__write_file', { path: 'quota-1.txt', content });
      const second = await acme.callTool('files__write_file', { path: 'quota-2.txt', content });
      const elsewhere = await other.callTool('files__write_file', { path: 'quota-1.txt', content });

      expect(first.isError ?? false).toBe(false);
      expect(second.isError).toBe(true);
      expect(textOf(second)).toMatch(/file area is full: it holds [\d.]+ KiB of its 1\.00 MiB quota.*Nothing was changed/);
      expect(elsewhere.isError ?? false).toBe(false);
    } finally {
      await acme.close();
      await other.close();
    }
    await expect(fs.stat(path.join(dataDir, 'files', 'acme', 'files', 'quota-2.txt'))).rejects.toThrow(/ENOENT/);
    // An admin sees how full the area is.
    const status = await apiClient(gateway.url, acmeKey).get<{ status: { state: string; storage?: { used_bytes: number; limit_bytes: number } } }>(
      '/api/v1/servers/files/status',
    );
    expect(status.body.status).toMatchObject({ state: 'ok', storage: { limit_bytes: 1024 * 1024 } });
    expect(status.body.status.storage?.used_bytes).toBeGreaterThan(600 * 1024);
    const text = await runCliInProcess(['server', 'status', '--tenant', 'acme', '--slug', 'files'], { dataDir });
    expect(text.stdout).toMatch(/^files in acme: ok, 14 tools, listed in \d+ ms; the tenant's area holds 0\.\d MiB of its 1\.0 MiB quota$/m);
    // Room again once a file is written over with less.
    const again = await connectV2(`${gateway.url}/t/acme/mcp`, acmeKey);
    try {
      await again.callTool('files__write_file', { path: 'quota-1.txt', content: 'small' });
      expect((await again.callTool('files__write_file', { path: 'quota-2.txt', content })).isError ?? false).toBe(false);
      await again.callTool('files__write_file', { path: 'quota-2.txt', content: '' });
    } finally {
      await again.close();
    }
  });

  it('refuses a key without the mcp scope', async () => {
    const { key } = await operatorCommand<{ key: { secret: string } }>(dataDir, 'key.create', {
      tenant: 'acme',
      name: 'admin only',
      scopes: ['admin'],
    });
    const response = await fetch(`${gateway.url}/t/acme/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.secret}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: '{}',
    });
    expect(response.status).toBe(403);
  });

  it('audits every tool call with server, tool, arguments and outcome', async () => {
    const client = await connectV2(`${gateway.url}/t/acme/mcp`, acmeKey);
    await client.callTool('files__read_file', { path: 'does-not-exist.txt' });
    await client.close();
    const api = apiClient(gateway.url, acmeKey);
    let events: AuditEventJson[] = [];
    for (let attempt = 0; attempt < 50 && !events.some((e) => JSON.stringify(e.after).includes('does-not-exist')); attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      events = (await api.get<{ events: AuditEventJson[] }>('/api/v1/audit?action=tool.call&limit=100')).body.events;
    }
    const failed = events.find((e) => JSON.stringify(e.after).includes('does-not-exist'));
    expect(failed?.after).toMatchObject({ server: 'files', tool: 'read_file', outcome: 'tool_error', arguments: { path: 'does-not-exist.txt' } });
    expect(events.filter((e) => (e.after as { tool?: string }).tool === 'write_file').length).toBeGreaterThanOrEqual(2);
  });

  it('runs and audits a call whose arguments nest deeper than a recursive walk can go, in both eras', async () => {
    // 20,000 levels: JSON.parse takes them; walking them recursively overflows the stack.
    const nested = '['.repeat(20_000) + ']'.repeat(20_000);
    const headers = { authorization: `Bearer ${acmeKey}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const envelope = {
      'io.modelcontextprotocol/protocolVersion': '2026-07-28',
      'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1.0.0' },
      'io.modelcontextprotocol/clientCapabilities': {},
    };
    const bodyOf = (era: string, meta?: object) =>
      JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'files__read_file', arguments: { path: `nested-${era}.txt`, note: 'NESTED' }, ...(meta && { _meta: meta }) },
      }).replace('"NESTED"', nested);
    const modern = await fetch(`${gateway.url}/t/acme/mcp`, {
      method: 'POST',
      headers: { ...headers, 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'files__read_file' },
      body: bodyOf('2026', envelope),
    });
    expect(modern.status).toBe(200);
    expect(await modern.text()).toContain('nested-2026.txt');
    const legacy = await fetch(`${gateway.url}/t/acme/mcp`, { method: 'POST', headers: { ...headers, 'mcp-protocol-version': '2025-11-25' }, body: bodyOf('2025') });
    expect(legacy.status).toBe(200);
    expect(await legacy.text()).toContain('nested-2025.txt');

    const api = apiClient(gateway.url, acmeKey);
    const audited = (events: AuditEventJson[]) => events.filter((e) => JSON.stringify(e.after).includes('"path":"nested-'));
    let events: AuditEventJson[] = [];
    for (let attempt = 0; attempt < 50 && audited(events).length < 2; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      events = (await api.get<{ events: AuditEventJson[] }>('/api/v1/audit?action=tool.call&limit=100')).body.events;
    }
    expect(audited(events).map((e) => e.after)).toEqual(
      ['2025', '2026'].map((era) =>
        expect.objectContaining({ tool: 'read_file', outcome: 'tool_error', arguments: { path: `nested-${era}.txt`, note: [[['[nested]']]] } }),
      ),
    );
  });

  it('audits a call whose arguments hold text the database cannot store, and every call after it', async () => {
    const client = await connectV2(`${gateway.url}/t/acme/mcp`, acmeKey);
    // A NUL character and a lone surrogate: jsonb refuses both, and the filesystem refuses such paths.
    const refused = await client.callTool('files__read_file', { path: 'nul\u0000byte.txt', note: 'half \uD800 pair' });
    expect(refused.isError).toBe(true);
    await client.callTool('files__read_file', { path: 'after-unstorable.txt' });
    await client.close();
    const api = apiClient(gateway.url, acmeKey);
    const find = (events: AuditEventJson[], marker: string) => events.find((e) => JSON.stringify(e.after).includes(marker));
    let events: AuditEventJson[] = [];
    for (let attempt = 0; attempt < 50 && !find(events, 'after-unstorable'); attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      events = (await api.get<{ events: AuditEventJson[] }>('/api/v1/audit?action=tool.call&limit=100')).body.events;
    }
    expect(find(events, 'after-unstorable')?.after).toMatchObject({ tool: 'read_file', arguments: { path: 'after-unstorable.txt' } });
    expect(find(events, 'byte.txt')?.after).toMatchObject({ arguments: { path: 'nul\uFFFDbyte.txt', note: 'half \uFFFD pair' } });
  });
});
