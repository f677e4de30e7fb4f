import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { createToolRegistry } from '../../src/servers/index.ts';
import { restrictSource } from '../../src/gateway/restricted-source.ts';
import { intersectTools, mayUseServer, mayUseTool, toolsBeyond, toolRestrictionsSchema, withoutToolSource } from '../../src/tenancy/index.ts';

describe('key tool restrictions', () => {
  it('narrows what a bot may use to what the calling key holds', () => {
    const attached = ['files', 'gh__list_issues', 'bot__helper'];
    expect(intersectTools(null, attached)).toEqual(attached);
    expect(intersectTools(['files__read_file', 'gh', 'bot'], attached)).toEqual(['files__read_file', 'gh__list_issues', 'bot__helper']);
    expect(intersectTools(['files'], attached)).toEqual(['files']);
    expect(intersectTools(['db', 'gh__create_issue'], attached)).toEqual([]);
  });

  it('lets an unrestricted key use everything', () => {
    expect(mayUseTool(null, 'files', 'write_file')).toBe(true);
    expect(mayUseServer(null, 'files')).toBe(true);
  });

  it('admits whole servers and single tools', () => {
    const tools = ['files', 'gh__list_issues'];
    expect(mayUseTool(tools, 'files', 'write_file')).toBe(true);
    expect(mayUseTool(tools, 'gh', 'list_issues')).toBe(true);
    expect(mayUseTool(tools, 'gh', 'create_issue')).toBe(false);
    expect(mayUseTool(tools, 'db', 'query')).toBe(false);
    expect(mayUseServer(tools, 'gh')).toBe(true);
    expect(mayUseServer(tools, 'db')).toBe(false);
    // A prefix of a slug is not the slug.
    expect(mayUseServer(['gh'], 'ghost')).toBe(false);
  });

  it('refuses to grant more than the granting key has', () => {
    expect(toolsBeyond(null, ['files'])).toEqual([]);
    expect(toolsBeyond(['files'], null)).toEqual(['(all tools)']);
    expect(toolsBeyond(['files', 'gh__list_issues'], ['files__read_file', 'gh__list_issues', 'gh', 'db__query'])).toEqual([
      'gh',
      'db__query',
    ]);
  });

  it('takes a deleted server or bot out of a restriction, leaving one that reaches nothing when it named nothing else', () => {
    const tools = ['files', 'files__read_file', 'filesystem', 'gh__list_issues', 'bot', 'bot__notes', 'bot__notes-old'];
    expect(withoutToolSource(tools, 'files')).toEqual(['filesystem', 'gh__list_issues', 'bot', 'bot__notes', 'bot__notes-old']);
    expect(withoutToolSource(tools, 'bot', 'notes')).toEqual(['files', 'files__read_file', 'filesystem', 'gh__list_issues', 'bot', 'bot__notes-old']);
    const emptied = withoutToolSource(['files__read_file'], 'files');
    expect(emptied).toEqual([]);
    // Empty is not unrestricted (null): it reaches nothing and grants nothing.
    expect([mayUseServer(emptied, 'files'), mayUseTool(emptied, 'files', 'read_file'), mayUseServer(emptied, 'bot')]).toEqual([false, false, false]);
    expect(intersectTools(emptied, ['files', 'bot__notes'])).toEqual([]);
    expect(toolsBeyond(emptied, ['files'])).toEqual(['files']);
    expect(toolsBeyond(emptied, null)).toEqual(['(all tools)']);
  });

  it('validates entries', () => {
    expect(toolRestrictionsSchema.safeParse(['files', 'gh__list_issues', 'files']).data).toEqual(['files', 'gh__list_issues']);
    expect(toolRestrictionsSchema.safeParse([]).success).toBe(false);
    expect(toolRestrictionsSchema.safeParse(['Files']).success).toBe(false);
    expect(toolRestrictionsSchema.safeParse(["files'; drop table api_keys;--"]).success).toBe(false);
  });

  it('hides and refuses tools outside the restriction', async () => {
    const registry = createToolRegistry();
    for (const name of ['read_file', 'write_file']) {
      registry.registerTool(
        { name, description: name, inputSchema: z.object({}), annotations: {} },
        async () => ({ content: [{ type: 'text', text: `${name} ran` }] }),
      );
    }
    const view = restrictSource(registry, 'files', ['files__read_file']);
    const context = { signal: new AbortController().signal, progress: () => Promise.resolve() };

    expect((await view.listTools(context.signal)).map((t) => t.name)).toEqual(['read_file']);
    const refused = await view.callTool('write_file', {}, context);
    expect(refused.isError).toBe(true);
    expect(JSON.stringify(refused.content)).toContain('may not use the tool write_file');
    expect(JSON.stringify((await view.callTool('read_file', {}, context)).content)).toContain('read_file ran');
  });
});
