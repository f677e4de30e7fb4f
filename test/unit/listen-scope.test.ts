import { describe, expect, it } from 'vitest';
import { eventsForScope, narrowResourceFilter, requestedResources, type ListenScope } from '../../src/gateway/mcp/listen-streams.ts';
import type { ChangeEvent } from '../../src/shared/change-bus.ts';
import { mayUseServer } from '../../src/tenancy/index.ts';

const scope = (overrides: Partial<ListenScope> & { tools?: string[] | null } = {}): ListenScope => {
  const tools = overrides.tools ?? null;
  return { tenantId: 'tenant-a', server: undefined, mayUseServer: (slug) => mayUseServer(tools, slug), watchResource: () => undefined, credentialHolds: async () => true, ...overrides };
};

const change = (tenantId: string, server: unknown, lists: unknown = ['tools', 'prompts', 'resources']): ChangeEvent => ({
  kind: 'message',
  topic: 'servers.lists_changed',
  payload: { tenantId, server: server as string, lists: lists as string[] },
});

const kinds = (events: Array<{ kind: string }>) => events.map((event) => event.kind);

describe('which changes a listen stream hears', () => {
  it("hears its own tenant's changes, list by list", () => {
    expect(kinds(eventsForScope(change('tenant-a', 'files'), scope()))).toEqual(['tools_list_changed', 'prompts_list_changed', 'resources_list_changed']);
    expect(kinds(eventsForScope(change('tenant-a', 'files', ['tools']), scope()))).toEqual(['tools_list_changed']);
  });

  it("never hears another tenant's changes", () => {
    expect(eventsForScope(change('tenant-b', 'files'), scope())).toEqual([]);
    expect(eventsForScope(change('tenant-b', 'files'), scope({ server: 'files' }))).toEqual([]);
  });

  it("hears only its server's changes on a single-server endpoint, and only usable servers' with a restricted key", () => {
    expect(eventsForScope(change('tenant-a', 'other'), scope({ server: 'files' }))).toEqual([]);
    expect(kinds(eventsForScope(change('tenant-a', 'files', ['tools']), scope({ server: 'files' })))).toEqual(['tools_list_changed']);
    expect(eventsForScope(change('tenant-a', 'other'), scope({ tools: ['files', 'docs__read_file'] }))).toEqual([]);
    expect(eventsForScope(change('tenant-a', 'docs', ['tools']), scope({ tools: ['files', 'docs__read_file'] }))).toHaveLength(1);
  });

  it('ignores other topics and malformed messages, and hears every list change after a resync', () => {
    expect(eventsForScope({ kind: 'message', topic: 'bots.changed', payload: { tenantId: 'tenant-a', server: 'files' } }, scope())).toEqual([]);
    expect(eventsForScope(change('tenant-a', 42), scope())).toEqual([]);
    expect(eventsForScope(change('tenant-a', 'files', 'tools'), scope())).toEqual([]);
    expect(kinds(eventsForScope(change('tenant-a', 'files', ['tools', 'secrets']), scope()))).toEqual(['tools_list_changed']);
    expect(kinds(eventsForScope({ kind: 'resync' }, scope({ server: 'files' })))).toEqual([
      'tools_list_changed',
      'prompts_list_changed',
      'resources_list_changed',
    ]);
  });
});

describe('which resources a listen request asks to watch', () => {
  const listen = (notifications: unknown) => ({ jsonrpc: '2.0', id: 'listen:1', method: 'subscriptions/listen', params: { notifications } });

  it('reads the URIs of resourceSubscriptions, each once', () => {
    expect(requestedResources(listen({ toolsListChanged: true, resourceSubscriptions: ['a://1', 'b://2', 'a://1'] }))).toEqual(['a://1', 'b://2']);
  });

  it('finds none in a filter without them, a malformed filter or no body', () => {
    expect(requestedResources(listen({ toolsListChanged: true }))).toEqual([]);
    expect(requestedResources(listen({ resourceSubscriptions: 'a://1' }))).toEqual([]);
    expect(requestedResources(listen({ resourceSubscriptions: [1, null, 'a://1'] }))).toEqual(['a://1']);
    expect(requestedResources(undefined)).toEqual([]);
    expect(requestedResources(null)).toEqual([]);
    expect(requestedResources([listen({ resourceSubscriptions: ['a://1'] })])).toEqual([]);
  });
});

describe('narrowResourceFilter', () => {
  const listen = (notifications: unknown) => ({
    jsonrpc: '2.0',
    id: 'l-1',
    method: 'subscriptions/listen',
    params: { notifications, _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' } },
  });
  const watchable = (uri: string) => uri.startsWith('botgate://files/');

  it('keeps only the URIs that can be watched, and the rest of the body as it was', () => {
    const body = listen({ toolsListChanged: true, resourceSubscriptions: ['botgate://files/a', 'botgate://other/b', 'botgate://files/c'] });
    expect(narrowResourceFilter(body, watchable)).toEqual(
      listen({ toolsListChanged: true, resourceSubscriptions: ['botgate://files/a', 'botgate://files/c'] }),
    );
    // The body it was given is left alone.
    expect(body.params.notifications).toEqual({ toolsListChanged: true, resourceSubscriptions: ['botgate://files/a', 'botgate://other/b', 'botgate://files/c'] });
  });

  it.each([
    ['no resource filter', listen({ toolsListChanged: true })],
    ['a filter that is not a list', listen({ resourceSubscriptions: 'botgate://other/b' })],
    ['a list with a non-string', listen({ resourceSubscriptions: ['botgate://other/b', 7] })],
    ['no params', { jsonrpc: '2.0', id: 1, method: 'subscriptions/listen' }],
    ['not an object', 'listen'],
  ])('leaves %s for the SDK to judge', (_what, body) => {
    expect(narrowResourceFilter(body, watchable)).toBe(body);
  });
});
