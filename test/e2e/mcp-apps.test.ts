import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  APP_MIME_TYPE,
  NOTE_URI,
  SHOW_VIEW,
  SHOW_VIEW_RESULT,
  startAppsMcpServer,
  VIEW_TEMPLATE,
  VIEW_URI,
  viewHtml,
  type AppsMcpServer,
} from '../fakes/apps-mcp-server.ts';
import { makeDataDir, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { operatorCommand, seedTenant } from '../support/http.ts';
import { connectFullV1, FULL_CLIENTS, type McpFullClient } from '../support/mcp-full-clients.ts';

// The same upstream over stdio, run with tsx from wherever the gateway starts it.
const APPS_STDIO = {
  command: process.execPath,
  args: ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href, path.resolve(import.meta.dirname, '../fakes/apps-stdio-server.ts')],
};

/** A view link as the MCP Apps host finds it: in a tool's `_meta.ui.resourceUri`, or a result's `_meta["ui/resourceUri"]`. */
const viewOfTool = (tool: { _meta?: Record<string, unknown> | undefined } | undefined) =>
  (tool?._meta?.['ui'] as { resourceUri?: unknown } | undefined)?.resourceUri;
const viewOfResult = (result: { _meta?: Record<string, unknown> | undefined }) => result._meta?.['ui/resourceUri'];

/** What a host does with a view link: check that it is a view, then read it. */
async function renderView(client: McpFullClient, link: unknown): Promise<string> {
  expect(typeof link === 'string' && link.startsWith('ui://')).toBe(true);
  const uri = link as string;
  expect((await client.listResources()).map((r) => r.uri)).toContain(uri);
  const read = await client.readResource(uri);
  expect(read.contents).toEqual([{ uri, mimeType: APP_MIME_TYPE, text: expect.any(String) }]);
  return (read.contents[0] as { text: string }).text;
}

describe('MCP Apps (ui:// views) through the gateway', () => {
  let upstream: AppsMcpServer | undefined;
  let gateway: GatewayProcess | undefined;
  let dataDir: string;
  let key: string;

  beforeAll(async () => {
    dataDir = await makeDataDir();
    await Promise.all([
      startAppsMcpServer().then((server) => (upstream = server)),
      startGateway({ dataDir, env: { BOTGATE_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8', BOTGATE_STDIO_COMMANDS: JSON.stringify({ apps: APPS_STDIO }) } }).then((g) => (gateway = g)),
    ]);
    key = (await seedTenant(dataDir, 'acme')).key.secret;
    // Two servers with the same views: the aggregate must keep them apart.
    await operatorCommand(dataDir, 'server.create', { tenant: 'acme', slug: 'apps', kind: 'remote', config: { url: upstream!.url } });
    await operatorCommand(dataDir, 'server.create', { tenant: 'acme', slug: 'notes', kind: 'remote', config: { url: upstream!.url } });
    await operatorCommand(dataDir, 'server.create', { tenant: 'acme', slug: 'local', kind: 'stdio', config: { command: 'apps' } });
  });

  afterAll(async () => {
    await Promise.all([gateway?.stop(), upstream?.close()]);
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  for (const [name, connect] of FULL_CLIENTS) {
    it(`links tools to views a host can read in the aggregate /t/acme/mcp, for the ${name} client`, async () => {
      const client = await connect(`${gateway!.url}/t/acme/mcp`, key);
      try {
        const tools = await client.listTools();
        const tool = tools.find((t) => t.name === 'apps__show-view');
        // The gateway declares MCP Apps upstream, so the tool is offered; its links are namespaced as ui:// URIs.
        expect(tool?._meta).toEqual({
          ...SHOW_VIEW._meta,
          ui: { ...SHOW_VIEW._meta.ui, resourceUri: 'ui://apps__demo/view.html' },
          'ui/resourceUri': 'ui://apps__demo/view.html',
        });
        expect(await renderView(client, viewOfTool(tool))).toBe(viewHtml(VIEW_URI));
        // The other server's same view is a resource of its own.
        const other = viewOfTool(tools.find((t) => t.name === 'notes__show-view'));
        expect(other).toBe('ui://notes__demo/view.html');
        expect(await renderView(client, other)).toBe(viewHtml(VIEW_URI));

        // The call's result names the view the same way; its resource link reads back too; the rest of _meta is the upstream's.
        const result = await client.callTool('apps__show-view', {});
        expect(viewOfResult(result)).toBe('ui://apps__demo/view.html');
        expect(result._meta?.['example.com/trace']).toBe('abc');
        expect(await renderView(client, viewOfResult(result))).toBe(viewHtml(VIEW_URI));
        expect(result.content).toEqual([SHOW_VIEW_RESULT.content[0], { ...SHOW_VIEW_RESULT.content[1], uri: 'ui://apps__demo/view.html' }]);

        // Resources of other schemes keep the botgate:// form; the resource's own _meta passes unchanged.
        const resources = await client.listResources();
        expect(resources).toEqual(
          expect.arrayContaining([
            { uri: 'ui://apps__demo/view.html', name: 'view', mimeType: APP_MIME_TYPE, _meta: { ui: { prefersBorder: true } } },
            { uri: `botgate://apps/${NOTE_URI}`, name: 'readme', mimeType: 'text/plain' },
            { uri: `botgate://notes/${NOTE_URI}`, name: 'readme', mimeType: 'text/plain' },
          ]),
        );
        expect((await client.readResource(`botgate://notes/${NOTE_URI}`)).contents).toEqual([
          { uri: `botgate://notes/${NOTE_URI}`, mimeType: 'text/plain', text: 'read me' },
        ]);

        // A ui:// template stays expandable: its expansion reads the upstream's.
        const templates = (await client.listResourceTemplates()).map((t) => t.uriTemplate);
        expect(templates).toEqual(expect.arrayContaining(['ui://apps__demo/{page}.html', 'ui://notes__demo/{page}.html']));
        const page = 'ui://apps__demo/help.html';
        expect((await client.readResource(page)).contents).toEqual([{ uri: page, mimeType: APP_MIME_TYPE, text: viewHtml('ui://demo/help.html') }]);

        // The upstream's own URI names nothing in the aggregate.
        await expect(client.readResource(VIEW_URI)).rejects.toMatchObject({ code: -32602, data: { uri: VIEW_URI } });
      } finally {
        await client.close();
      }
    });

    it(`declares MCP Apps to a stdio server too, so its views reach the ${name} client`, async () => {
      const aggregate = await connect(`${gateway!.url}/t/acme/mcp`, key);
      const single = await connect(`${gateway!.url}/t/acme/mcp/servers/local`, key);
      try {
        expect((await single.listTools()).map((t) => t.name)).toEqual(['echo', 'show-view']);
        const tool = (await aggregate.listTools()).find((t) => t.name === 'local__show-view');
        expect(viewOfTool(tool)).toBe('ui://local__demo/view.html');
        expect(await renderView(aggregate, viewOfTool(tool))).toBe(viewHtml(VIEW_URI));
        expect(viewOfResult(await aggregate.callTool('local__show-view', {}))).toBe('ui://local__demo/view.html');
      } finally {
        await Promise.all([aggregate.close(), single.close()]);
      }
    });

    it(`publishes views unchanged at /t/acme/mcp/servers/apps, for the ${name} client`, async () => {
      const client = await connect(`${gateway!.url}/t/acme/mcp/servers/apps`, key);
      const direct = await connectFullV1(upstream!.url);
      try {
        // The upstream offers its view tool only to clients that declare MCP Apps, as the gateway does on their behalf.
        expect((await direct.listTools()).map((t) => t.name)).toEqual(['echo']);
        expect((await client.listTools()).map((t) => t.name)).toEqual(['echo', 'show-view']);
        const tool = (await client.listTools()).find((t) => t.name === 'show-view');
        expect(tool?._meta).toEqual(SHOW_VIEW._meta);
        expect(await renderView(client, viewOfTool(tool))).toBe(viewHtml(VIEW_URI));
        const result = await client.callTool('show-view', {});
        expect(viewOfResult(result)).toBe(VIEW_URI);
        expect(result.content).toEqual(SHOW_VIEW_RESULT.content);
        expect((await client.listResources()).map((r) => r.uri)).toEqual([VIEW_URI, NOTE_URI]);
        expect((await client.listResourceTemplates()).map((t) => t.uriTemplate)).toEqual([VIEW_TEMPLATE]);
      } finally {
        await Promise.all([client.close(), direct.close()]);
      }
    });
  }
});
