import type { Tool } from '@modelcontextprotocol/server';
import { expect, it } from 'vitest';
import { describeEachDatabase } from '../support/databases.ts';
import { callContext, ECHO, names, setupPinnedUpstream, signal, textOf } from '../support/pinned-upstream.ts';

/** An input schema nested `depth` objects deep, built without recursion. */
function nestedSchema(depth: number): Tool['inputSchema'] {
  let schema: Record<string, unknown> = { type: 'string' };
  for (let i = 0; i < depth; i++) schema = { type: 'object', properties: { x: schema } };
  return schema as Tool['inputSchema'];
}

const tool = (name: string, extra: Partial<Tool> = {}): Tool => ({ name, description: `The ${name} tool.`, inputSchema: { type: 'object' }, ...extra });

describeEachDatabase('tool pinning: tools the gateway cannot pin', (use) => {
  it('withholds alone a tool holding a NUL, a lone surrogate or deep nesting, and pins and serves the rest', async () => {
    const { db } = use();
    const { servers, tenant, upstream, pinned, events, status } = await setupPinnedUpstream(db);
    upstream.list = () => [
      ECHO,
      tool('nul', { description: 'Reads a file.\u0000' }),
      tool('surrogate', { description: 'Reads \uD800 a file.' }),
      tool('nul-key', { inputSchema: { type: 'object', properties: { 'pa\u0000th': { type: 'string' } } } }),
      tool('deep', { inputSchema: nestedSchema(100_000) }),
    ];
    const source = pinned();

    // Twice, and through a fresh source (another node): nothing throws, the good tool is listed.
    expect(names(await source.listTools(signal))).toEqual(['echo']);
    expect(names(await source.listTools(signal))).toEqual(['echo']);
    expect(names(await pinned().listTools(signal))).toEqual(['echo']);
    expect(textOf(await source.callTool('echo', { message: 'hi' }, callContext))).toBe('ran echo');

    const reasons: Record<string, RegExp> = {
      nul: /"description" of its definition must not contain the NUL character/,
      surrogate: /"description" of its definition must not contain a lone UTF-16 surrogate/,
      'nul-key': /"inputSchema\.properties\.pa\\u0000th" of its definition must not contain the NUL character/,
      deep: /of its definition is nested deeper than 64 levels/,
    };
    for (const [name, reason] of Object.entries(reasons)) {
      const refused = await pinned().callTool(name, {}, callContext);
      expect(refused.isError).toBe(true);
      expect(textOf(refused)).toMatch(new RegExp(`^The tool "${name}" of server "up" is withheld: `));
      expect(textOf(refused)).toMatch(reason);
      expect(textOf(refused)).not.toMatch(/changed since it was approved|try again later/);
    }
    expect(upstream.calls).toEqual(['echo']);

    // Only the good tool is pinned; nothing awaits an approval that could not help.
    expect((await servers.pins.list(tenant, 'up')).map((p) => [p.name, p.status])).toEqual([['echo', 'pinned']]);
    const { check, log } = await status(source);
    expect(check).toMatchObject({ state: 'ok', tools: 1, awaitingApproval: 0 });
    for (const name of Object.keys(reasons)) expect(check.withheld?.summary).toContain(`"${name}"`);
    expect(check.withheld?.summary).toMatch(/^4 listed tools are withheld: /);
    expect(check.withheld?.count).toBe(4);
    expect(check.withheld?.tools.map((t) => t.name).sort()).toEqual(Object.keys(reasons).sort());
    expect(check.error).toBeUndefined();
    expect(log).toContainEqual(expect.objectContaining({ level: 40, msg: 'a server lists tools the gateway withholds' }));

    // Each refusal is audited compactly, by each source (node) once an hour however often it lists.
    const refusals = await events('tool.definition_refused');
    expect([...new Set(refusals.map((e) => (e.after as { tool: string }).tool))].sort()).toEqual(['deep', 'nul', 'nul-key', 'surrogate']);
    for (const event of refusals) expect(JSON.stringify(event).length).toBeLessThan(2_000);
    for (let i = 0; i < 5; i++) await source.listTools(signal);
    expect(await events('tool.definition_refused')).toHaveLength(refusals.length);
  });

  it('withholds a name listed twice as listed more than once, never as a change awaiting approval', async () => {
    const { db } = use();
    const { servers, tenant, upstream, pinned, events, status } = await setupPinnedUpstream(db);
    const source = pinned();
    // Pinned while listed once...
    upstream.list = () => [ECHO, tool('dup')];
    expect(names(await source.listTools(signal))).toEqual(['dup', 'echo']);
    // ...then listed twice, once as pinned and once otherwise: neither copy can be trusted.
    upstream.list = () => [ECHO, tool('dup'), tool('dup', { description: 'Deletes everything.' }), tool('twice'), tool('twice')];
    expect(names(await source.listTools(signal))).toEqual(['echo']);
    expect(names(await pinned().listTools(signal))).toEqual(['echo']);

    for (const name of ['dup', 'twice']) {
      const refused = await source.callTool(name, {}, callContext);
      expect(refused.isError).toBe(true);
      expect(textOf(refused)).toMatch(new RegExp(`^The tool "${name}" of server "up" is withheld: it is listed more than once by the upstream\\.`));
      expect(textOf(refused)).not.toMatch(/changed since it was approved|approve-tools/);
    }
    expect(textOf(await source.callTool('echo', {}, callContext))).toBe('ran echo');
    expect(upstream.calls).toEqual(['echo']);

    expect((await servers.pins.list(tenant, 'up')).map((p) => [p.name, p.status])).toEqual([
      ['dup', 'pinned'],
      ['echo', 'pinned'],
    ]);
    expect(await events('tool.definition_changed')).toEqual([]);
    const { check } = await status(source);
    expect(check).toMatchObject({ state: 'ok', tools: 1, awaitingApproval: 0 });
    expect(check.withheld?.summary).toBe('2 listed tools are withheld: "dup" (it is listed more than once by the upstream); "twice" (it is listed more than once by the upstream)');

    // Listed once again, as pinned: served again, with no approval.
    upstream.list = () => [ECHO, tool('dup')];
    expect(names(await source.listTools(signal))).toEqual(['dup', 'echo']);
    expect((await status(source)).check.withheld).toBeUndefined();
  });

  it('withholds tools whose names break the MCP naming rule, and serves those that keep it', async () => {
    const { db } = use();
    const { servers, tenant, upstream, pinned, status } = await setupPinnedUpstream(db);
    const bad = ['read file', 'new\nline', '<script>alert(1)</script>', 'smile🙂', '', 'x'.repeat(129), 'tab\t'];
    const good = ['a'.repeat(128), 'get.v2-item_X9'];
    upstream.list = () => [ECHO, ...[...bad, ...good].map((name) => tool(name))];
    const source = pinned();

    expect(names(await source.listTools(signal))).toEqual([...good, 'echo'].sort());
    for (const name of bad) {
      const refused = await source.callTool(name, {}, callContext);
      expect(refused.isError).toBe(true);
      expect(textOf(refused)).toContain('its name is not 1 to 128 of the characters A-Z a-z 0-9 _ - . that MCP allows');
    }
    for (const name of good) expect(textOf(await source.callTool(name, {}, callContext))).toBe(`ran ${name}`);
    expect(upstream.calls).toEqual(good);

    expect((await servers.pins.list(tenant, 'up')).map((p) => p.name).sort()).toEqual([...good, 'echo'].sort());
    const { check } = await status(source);
    expect(check).toMatchObject({ state: 'ok', tools: 3, awaitingApproval: 0 });
    expect(check.withheld?.summary).toMatch(/^7 listed tools are withheld: /);
    // Names are quoted as JSON and cut: no raw line break, no 129-character name.
    expect(check.withheld?.summary).toContain('"new\\nline"');
    expect(check.withheld?.summary).not.toMatch(/\n|x{129}/);
  });
});
