import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { createOutboundGuard } from '../../src/servers/outbound.ts';
import type { ServerPolicy } from '../../src/servers/policy.ts';
import type { ServerRuntime } from '../../src/servers/server.service.ts';
import { createSourceFactory } from '../../src/servers/source-factory.ts';
import type { ToolSource } from '../../src/servers/tool-source.ts';
import { createLogger } from '../../src/shared/logger.ts';
import type { Tenant } from '../../src/tenancy/index.ts';
import { describeEachDatabase } from '../support/databases.ts';
import { OPERATOR, openServerService, type ServerServiceFixture } from '../support/server-service.ts';
import type { ToolCallOutcome } from '../../src/servers/index.ts';
import { resultOf } from '../support/tool-outcome.ts';

const EVERYTHING = path.resolve(import.meta.dirname, '../../node_modules/@modelcontextprotocol/server-everything/dist/index.js');

const context = () => ({ signal: new AbortController().signal, progress: async () => undefined });
const text = (outcome: ToolCallOutcome) => resultOf(outcome).content.map((part) => (part.type === 'text' ? part.text : '')).join('');

describeEachDatabase('stdio servers built by the source factory', (use) => {
  let fx: ServerServiceFixture;
  let policy: ServerPolicy;
  const opened: ToolSource<ToolCallOutcome>[] = [];

  async function build(server: ServerRuntime, tenant: Tenant, stdioCommands = policy.stdioCommands): Promise<ToolSource<ToolCallOutcome>> {
    const factory = createSourceFactory({
      db: use().db,
      policy: { ...policy, stdioCommands },
      logger: createLogger({ level: 'silent' }),
      outbound: createOutboundGuard({ allowPrivateNetworks: policy.allowPrivateNetworks }),
    });
    const source = await factory(server, tenant);
    opened.push(source);
    return source;
  }

  async function stdioServer(tenant: Tenant, slug: string): Promise<ServerRuntime> {
    await fx.servers.create(tenant, OPERATOR, { slug, kind: 'stdio', config: { command: 'everything' } });
    const runtime = (await fx.servers.listRuntime(tenant)).find((server) => server.slug === slug);
    if (!runtime) throw new Error(`server ${slug} missing`);
    return runtime;
  }

  beforeAll(async () => {
    fx = await openServerService(use().db);
    // The operator's command for the name tenants use: the reference server, in its default stdio mode.
    policy = { ...fx.policy, stdioCommands: { everything: { command: process.execPath, args: [EVERYTHING] } } };
  });

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((source) => source.close()));
  });

  afterAll(async () => {
    await fx?.close();
  });

  it('runs the operator’s command for the name the tenant chose, in a home of the server’s own', async () => {
    const tenant = await fx.newTenant('stdio');
    const source = await build(await stdioServer(tenant, 'everything'), tenant);

    const tools = await source.listTools(context().signal);
    expect(tools.map((tool) => tool.name)).toContain('echo');
    expect(await source.callTool('echo', { message: 'via the factory' }, context())).toEqual({
      content: [{ type: 'text', text: 'Echo: via the factory' }],
    });
    const env = JSON.parse(text(await source.callTool('get-env', {}, context()))) as Record<string, string>;
    expect(env['HOME']).toBe(path.resolve(policy.dataDir, 'stdio', tenant.slug, 'everything'));
  });

  it('refuses a command the operator no longer allows, starting nothing', async () => {
    const tenant = await fx.newTenant('revoked');
    const source = await build(await stdioServer(tenant, 'gone'), tenant, {});

    await expect(source.listTools(context().signal)).rejects.toThrow(/no longer allows the stdio command everything/);
    const result = await source.callTool('echo', { message: 'x' }, context());
    expect(result).toMatchObject({ isError: true });
    expect(text(result)).toContain('no longer allows the stdio command everything (server gone)');
  });

  it('refuses a command name that is only an inherited property of the allow-list', async () => {
    const tenant = await fx.newTenant('proto');
    const forged: ServerRuntime = {
      id: '00000000-0000-4000-8000-000000000000',
      slug: 'forged',
      kind: 'stdio',
      config: { command: 'constructor' },
      secrets: {},
      version: '1',
    };
    const source = await build(forged, tenant);
    const result = await source.callTool('echo', { message: 'x' }, context());
    expect(result).toMatchObject({ isError: true });
    expect(text(result)).toContain('no longer allows the stdio command constructor');
  });
});
