import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Tool } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UPSTREAM_ASKABLE } from '../../src/servers/remote/upstream-connection.ts';
import { freePort, startEverything, stopEverything } from '../support/everything-server.ts';
import { makeDataDir, pollUntil, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { apiClient, operatorCommand, request, seedTenant, type AuditEventJson } from '../support/http.ts';
import { connectFullV2, FULL_CLIENTS, type McpFullClient, type ProgressEvent } from '../support/mcp-full-clients.ts';
import { openListener } from '../support/mcp-listener.ts';

const textOf = (result: { content: unknown[] }) => result.content.map((c) => (c as { text?: string }).text ?? '').join('\n');

/** How the aggregate endpoint publishes the upstream's names and URIs (see src/gateway/mcp/namespacing.ts). */
const PREFIX = 'everything__';
const URI_PREFIX = 'botgate://everything/';

/** The upstream's own view of a published item, to compare with what a direct client sees. */
const unprefixed = <T extends { name: string }>(items: T[]) =>
  items.filter((i) => i.name.startsWith(PREFIX)).map((i) => ({ ...i, name: i.name.slice(PREFIX.length) }));

/**
 * The upstream's tools as a client of the gateway should see them. The
 * upstream speaks 2025-11-25; the 2026-07-28 revision (what the v2 client
 * negotiates with the gateway) deleted `Tool.execution`, so the gateway's SDK
 * leaves it out for that client, as the spec requires.
 */
async function upstreamToolsFor(client: McpFullClient, direct: McpFullClient): Promise<Tool[]> {
  const tools = await direct.listTools();
  return client.name === 'v1' ? tools : tools.map(({ execution: _deleted, ...tool }) => tool);
}

async function progressOf(client: McpFullClient, tool: string): Promise<{ isError: unknown; events: number[][] }> {
  const events: ProgressEvent[] = [];
  const result = await client.callTool(tool, { duration: 0.6, steps: 3 }, (event) => events.push(event));
  return { isError: result.isError ?? false, events: events.map((e) => [e.progress, e.total ?? -1]) };
}

describe('MCP endpoints over a remote server (server-everything over Streamable HTTP)', () => {
  let upstream: ChildProcess | undefined;
  let upstreamUrl: string;
  let gateway: GatewayProcess | undefined;
  let strictGateway: GatewayProcess | undefined;
  const dataDirs: string[] = [];
  let key: string;
  let plainKey: string;
  let direct: McpFullClient;

  beforeAll(async () => {
    const port = await freePort();
    upstreamUrl = `http://127.0.0.1:${port}/mcp`;
    const [dataDir, strictDir] = await Promise.all([makeDataDir(), makeDataDir()]);
    dataDirs.push(dataDir, strictDir);
    // Started together to keep the file quick; each is kept as soon as it is up, so afterAll stops it.
    await Promise.all([
      startEverything(port).then((child) => (upstream = child)),
      startGateway({ dataDir, env: { BOTGATE_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8' } }).then((g) => (gateway = g)),
      startGateway({ dataDir: strictDir }).then((g) => (strictGateway = g)),
    ]);
    key = (await seedTenant(dataDir, 'acme')).key.secret;
    plainKey = (await seedTenant(dataDir, 'plain')).key.secret;
    await operatorCommand(dataDir, 'server.create', { tenant: 'acme', slug: 'everything', kind: 'remote', config: { url: upstreamUrl } });
    await operatorCommand(dataDir, 'server.create', { tenant: 'acme', slug: 'files', kind: 'filesystem' });
    await operatorCommand(dataDir, 'server.create', { tenant: 'plain', slug: 'files', kind: 'filesystem' });
    // Declaring what the gateway declares upstream on its clients' behalf, so the upstream offers it the same tools.
    direct = await connectFullV2(upstreamUrl, undefined, UPSTREAM_ASKABLE);
  });

  afterAll(async () => {
    await direct?.close();
    await Promise.all([gateway?.stop(), strictGateway?.stop(), stopEverything(upstream)]);
    await Promise.all(dataDirs.map((dir) => fs.rm(dir, { recursive: true, force: true })));
  });

  for (const [name, connect] of FULL_CLIENTS) {
    it(`passes everything through unchanged at /t/acme/mcp/servers/everything to the ${name} client`, async () => {
      const client = await connect(`${gateway!.url}/t/acme/mcp/servers/everything`, key);
      try {
        expect(client.instructions()).toMatch(/^# Everything Server/);
        expect(client.instructions()).toBe(direct.instructions());
        expect(await client.listTools()).toEqual(await upstreamToolsFor(client, direct));
        expect((await client.callTool('echo', { message: `hi from ${name}` })).content).toEqual([{ type: 'text', text: `Echo: hi from ${name}` }]);
        const image = await client.callTool('get-tiny-image', {});
        expect(image.content).toEqual((await direct.callTool('get-tiny-image', {})).content);
        expect(image.content).toContainEqual({ type: 'image', data: expect.stringMatching(/^iVBORw0KGgo/), mimeType: 'image/png' });
        expect(await progressOf(client, 'trigger-long-running-operation')).toEqual({ isError: false, events: [[1, 3], [2, 3], [3, 3]] });

        const resources = await client.listResources();
        expect(resources).toEqual(await direct.listResources());
        const uri = resources[0]!.uri;
        expect((await client.readResource(uri)).contents).toEqual((await direct.readResource(uri)).contents);
        expect(await client.listResourceTemplates()).toEqual(await direct.listResourceTemplates());

        expect(await client.listPrompts()).toEqual(await direct.listPrompts());
        const args = { city: 'Paris', state: 'IDF' };
        expect((await client.getPrompt('args-prompt', args)).messages).toEqual((await direct.getPrompt('args-prompt', args)).messages);
        const completion = { ref: { type: 'ref/prompt' as const, name: 'completable-prompt' }, argument: { name: 'department', value: 'S' } };
        expect((await client.complete(completion)).completion.values).toEqual(['Sales', 'Support']);
      } finally {
        await client.close();
      }
    });

    it(`namespaces and routes back the remote server in the aggregate /t/acme/mcp for the ${name} client`, async () => {
      const client = await connect(`${gateway!.url}/t/acme/mcp`, key);
      try {
        const tools = await client.listTools();
        expect(unprefixed(tools)).toEqual(await upstreamToolsFor(client, direct));
        expect(tools.map((t) => t.name)).toContain('files__read_file');
        expect(textOf(await client.callTool(`${PREFIX}echo`, { message: 'aggregated' }))).toBe('Echo: aggregated');
        const image = await client.callTool(`${PREFIX}get-tiny-image`, {});
        expect(image.content).toEqual((await direct.callTool('get-tiny-image', {})).content);
        expect(await progressOf(client, `${PREFIX}trigger-long-running-operation`)).toEqual({ isError: false, events: [[1, 3], [2, 3], [3, 3]] });

        // Resources: every upstream URI u is published as botgate://everything/u and read back through it.
        const upstreamResources = await direct.listResources();
        const resources = await client.listResources();
        expect(resources).toEqual(upstreamResources.map((r) => ({ ...r, uri: `${URI_PREFIX}${r.uri}` })));
        const uri = upstreamResources[0]!.uri;
        const read = await client.readResource(`${URI_PREFIX}${uri}`);
        expect(read.contents).toEqual((await direct.readResource(uri)).contents.map((c) => ({ ...c, uri: `${URI_PREFIX}${c.uri}` })));

        // Templates keep working: the prefix is a literal, so expanding the published template reads the upstream's URI.
        const templates = await client.listResourceTemplates();
        const textTemplate = templates.find((t) => t.uriTemplate.endsWith('/text/{resourceId}'))?.uriTemplate ?? '';
        expect(textTemplate).toBe(`${URI_PREFIX}demo://resource/dynamic/text/{resourceId}`);
        const expanded = textTemplate.replace('{resourceId}', '7');
        const dynamic = await client.readResource(expanded);
        expect(dynamic.contents).toEqual([{ uri: expanded, mimeType: 'text/plain', text: expect.stringMatching(/^Resource 7: /) }]);
        const templateCompletion = { ref: { type: 'ref/resource' as const, uri: textTemplate }, argument: { name: 'resourceId', value: '3' } };
        expect((await client.complete(templateCompletion)).completion.values).toEqual(['3']);

        // Prompts: named like tools, with resource URIs inside messages namespaced too.
        expect(unprefixed(await client.listPrompts())).toEqual(await direct.listPrompts());
        const args = { city: 'Paris', state: 'IDF' };
        expect((await client.getPrompt(`${PREFIX}args-prompt`, args)).messages).toEqual((await direct.getPrompt('args-prompt', args)).messages);
        const embedded = await client.getPrompt(`${PREFIX}resource-prompt`, { resourceType: 'Text', resourceId: '2' });
        expect(embedded.messages[1]?.content).toMatchObject({ type: 'resource', resource: { uri: `${URI_PREFIX}demo://resource/dynamic/text/2` } });
        const completion = { ref: { type: 'ref/prompt' as const, name: `${PREFIX}completable-prompt` }, argument: { name: 'department', value: 'S' } };
        expect((await client.complete(completion)).completion.values).toEqual(['Sales', 'Support']);

        // Tool results: resource links and embedded resources are namespaced alike, and read back through the aggregate; text is not rewritten.
        const links = (await client.callTool(`${PREFIX}get-resource-links`, { count: 2 })).content.filter((c) => c.type === 'resource_link');
        expect(links.map((l) => l.uri)).toEqual([`${URI_PREFIX}demo://resource/dynamic/blob/1`, `${URI_PREFIX}demo://resource/dynamic/text/2`]);
        for (const link of links) expect((await client.readResource(link.uri)).contents).toMatchObject([{ uri: link.uri }]);
        const reference = await client.callTool(`${PREFIX}get-resource-reference`, { resourceType: 'Blob', resourceId: 2 });
        expect(reference.content).toMatchObject([
          { type: 'text' },
          { type: 'resource', resource: { uri: `${URI_PREFIX}demo://resource/dynamic/blob/2`, blob: expect.any(String) } },
          { type: 'text', text: expect.stringContaining(' demo://resource/dynamic/blob/2') },
        ]);
        // The upstream's instructions name its own tools, not the aggregate's: they are not passed on here.
        expect(client.instructions()).toBeUndefined();

        // Misses are JSON-RPC Invalid Params errors (-32602 is also the wire code of resource-not-found).
        for (const missing of ['botgate://nope/demo://x', `${URI_PREFIX}demo://resource/static/document/nope.md`]) {
          await expect(client.readResource(missing)).rejects.toMatchObject({ code: -32602, data: { uri: missing } });
        }
        await expect(client.getPrompt('nope__args-prompt')).rejects.toMatchObject({ code: -32602 });
        await expect(client.getPrompt(`${PREFIX}no-such-prompt`)).rejects.toMatchObject({ code: -32602 });
      } finally {
        await client.close();
      }
    });

    it(`declares resources, prompts and completions only where a source offers them, to the ${name} client`, async () => {
      const withRemote = await connect(`${gateway!.url}/t/acme/mcp`, key);
      const builtinOnly = await connect(`${gateway!.url}/t/plain/mcp`, plainKey);
      try {
        expect(withRemote.capabilities()).toMatchObject({ tools: {}, resources: {}, prompts: {}, completions: {} });
        expect(builtinOnly.capabilities()).toHaveProperty('tools');
        expect(builtinOnly.capabilities()).not.toHaveProperty('resources');
        expect(builtinOnly.capabilities()).not.toHaveProperty('prompts');
        expect(builtinOnly.capabilities()).not.toHaveProperty('completions');
      } finally {
        await Promise.all([withRemote.close(), builtinOnly.close()]);
      }
    });
  }

  it('relays server-everything’s resource updates to a 2026-07-28 listener, under the aggregate’s URI', async () => {
    const document = `${URI_PREFIX}demo://resource/static/document/architecture.md`;
    const listener = await openListener(`${gateway!.url}/t/acme/mcp`, key, { resourceSubscriptions: [document] });
    const client = await connectFullV2(`${gateway!.url}/t/acme/mcp`, key);
    try {
      expect(listener.honored).toEqual({ resourceSubscriptions: [document] });
      // Turned on through the gateway, on the gateway's own session upstream: updates at once, then every 5 s.
      expect(textOf(await client.callTool(`${PREFIX}toggle-subscriber-updates`, {}))).toContain('Started');
      await listener.waitForUpdate(document);
      expect(new Set(listener.updates)).toEqual(new Set([document]));
      expect(textOf(await client.callTool(`${PREFIX}toggle-subscriber-updates`, {}))).toContain('Stopped');
    } finally {
      await Promise.all([listener.close(), client.close()]);
    }
  });

  it('answers a name the upstream does not offer as the upstream would, and audits it as an unknown tool', async () => {
    const client = await connectFullV2(`${gateway!.url}/t/acme/mcp/servers/everything`, key);
    try {
      const result = await client.callTool('no-such-tool', { message: 'hi' });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toBe('Unknown tool: no-such-tool. The server everything does not offer it.');
    } finally {
      await client.close();
    }
    const [event] = await pollUntil('the unknown tool’s audit event', async () => {
      const events = (await apiClient(gateway!.url, key).get<{ events: AuditEventJson[] }>('/api/v1/audit?action=tool.call&limit=100')).body.events;
      const found = events.filter((e) => (e.after as { tool?: string }).tool === 'no-such-tool');
      return found.length > 0 ? found : undefined;
    });
    expect(event?.after).toMatchObject({ server: 'everything', tool: 'no-such-tool', outcome: 'unknown_tool' });
  });

  it('refuses a loopback upstream at configuration time when the operator has not allowed private networks', async () => {
    const dataDir = strictGateway!.dataDir;
    await operatorCommand(dataDir, 'tenant.create', { slug: 'acme' });
    const credential = JSON.parse(await fs.readFile(path.join(dataDir, 'operator.json'), 'utf8')) as { url: string; token: string };
    const refused = await request(credential.url, 'POST', '/api/v1/operator/server.create', {
      key: credential.token,
      json: { tenant: 'acme', slug: 'everything', kind: 'remote', config: { url: upstreamUrl } },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'validation_failed', message: expect.stringMatching(/^config\.url: /) });
    expect(await operatorCommand(dataDir, 'server.list', { tenant: 'acme' })).toMatchObject({ servers: [] });
  });

  it('turns a dead upstream’s tools into error results while the other server keeps working (runs last: kills the upstream)', async () => {
    await stopEverything(upstream);
    for (const [name, connect] of FULL_CLIENTS) {
      const client = await connect(`${gateway!.url}/t/acme/mcp`, key);
      try {
        const dead = await client.callTool(`${PREFIX}echo`, { message: 'anyone?' });
        expect(dead.isError).toBe(true);
        expect(textOf(dead)).toMatch(/^upstream 127\.0\.0\.1:\d+ unavailable: /);

        const names = (await client.listTools()).map((t) => t.name);
        expect(names).toContain('files__write_file');
        expect(names.filter((n) => n.startsWith(PREFIX))).toEqual([]);
        expect(await client.listResources()).toEqual([]);
        expect((await client.callTool('files__write_file', { path: `alive-${name}.txt`, content: 'still here' })).isError ?? false).toBe(false);
        expect(textOf(await client.callTool('files__read_file', { path: `alive-${name}.txt` }))).toContain('still here');
      } finally {
        await client.close();
      }
    }
    // The trail tells a dead upstream from a tool that refused.
    const outcomes = await pollUntil('the dead upstream’s audit events', async () => {
      const events = (await apiClient(gateway!.url, key).get<{ events: AuditEventJson[] }>('/api/v1/audit?action=tool.call&limit=100')).body.events;
      const echoes = events.filter((event) => (event.after as { tool?: string }).tool === 'echo').slice(0, FULL_CLIENTS.length);
      return echoes.length === FULL_CLIENTS.length && echoes.every((e) => (e.after as { outcome?: string }).outcome !== 'ok') ? echoes : undefined;
    });
    expect(outcomes.map((e) => (e.after as { outcome?: string }).outcome)).toEqual(FULL_CLIENTS.map(() => 'upstream_unavailable'));
  });
});
