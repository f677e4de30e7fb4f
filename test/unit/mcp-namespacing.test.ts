import { describe, expect, it } from 'vitest';
import {
  aggregateNamespace,
  namespaceContentUris,
  namespaceResultView,
  namespaceToolViews,
  singleServerNamespace,
} from '../../src/gateway/mcp/namespacing.ts';

describe('aggregate namespace', () => {
  it('round-trips names and URIs, upstream URI kept verbatim', () => {
    const uri = 'demo://resource/static/document/a b?x=1#y';
    const published = aggregateNamespace.uri('everything', uri);
    expect(published).toBe(`botgate://everything/${uri}`);
    expect(aggregateNamespace.parseUri(published)).toEqual({ slug: 'everything', uri });
    expect(aggregateNamespace.parseName(aggregateNamespace.name('files', 'read_file'))).toEqual({ slug: 'files', name: 'read_file' });
  });

  it('keeps a resource template expandable: the prefix is literal text', () => {
    expect(aggregateNamespace.uri('everything', 'demo://resource/{id}')).toBe('botgate://everything/demo://resource/{id}');
  });

  it('keeps MCP Apps views ui://, the server before the first __, upstream URI kept verbatim', () => {
    for (const uri of ['ui://demo/view.html', 'ui://demo__x/a__b.html?v=1#top', 'ui:///bare']) {
      const published = aggregateNamespace.uri('apps', uri);
      expect(published.startsWith('ui://apps__')).toBe(true);
      expect(aggregateNamespace.parseUri(published)).toEqual({ slug: 'apps', uri });
    }
    expect(aggregateNamespace.uri('apps', 'ui://demo/view.html')).toBe('ui://apps__demo/view.html');
    // A template stays expandable: expanding the published one reads what the upstream's expansion names.
    expect(aggregateNamespace.uri('apps', 'ui://demo/{page}.html')).toBe('ui://apps__demo/{page}.html');
    expect(aggregateNamespace.parseUri('ui://apps__demo/7.html')).toEqual({ slug: 'apps', uri: 'ui://demo/7.html' });
    // Only ui:// itself: every other scheme, look-alikes included, keeps the botgate:// form.
    expect(aggregateNamespace.uri('apps', 'UI://demo/view.html')).toBe('botgate://apps/UI://demo/view.html');
    expect(aggregateNamespace.uri('apps', 'uix://demo')).toBe('botgate://apps/uix://demo');
    // A ui:// URI routes only with a server and an upstream URI after it: the upstream's own URI routes nowhere.
    for (const uri of ['ui://demo/view.html', 'ui://__demo/view.html', 'ui://apps__', 'ui://', 'ui:/apps__demo/v']) {
      expect(aggregateNamespace.parseUri(uri)).toBeUndefined();
    }
  });

  it.each([
    'read_file',
    '__read_file',
    'files__',
    'botgate://',
    'botgate:///x',
    'botgate://files/',
    'file:///etc/passwd',
  ])(
    'publishes nothing for %s',
    (value) => {
      expect(aggregateNamespace.parseName(value) ?? aggregateNamespace.parseUri(value)).toBeUndefined();
    },
  );

  it('rewrites resource links and embedded resources only', () => {
    const text = { type: 'text', text: 'hi' };
    expect(namespaceContentUris(aggregateNamespace, 's', text)).toBe(text);
    expect(namespaceContentUris(aggregateNamespace, 's', { type: 'resource_link', uri: 'x://1', name: 'one' })).toEqual({
      type: 'resource_link',
      uri: 'botgate://s/x://1',
      name: 'one',
    });
    expect(
      namespaceContentUris(aggregateNamespace, 's', { type: 'resource', resource: { uri: 'x://2', text: 't' } }),
    ).toEqual({ type: 'resource', resource: { uri: 'botgate://s/x://2', text: 't' } });
  });

  it('rewrites ui:// resource links and embedded resources into ui://', () => {
    expect(namespaceContentUris(aggregateNamespace, 's', { type: 'resource_link', uri: 'ui://v/a.html', name: 'a' })).toEqual({
      type: 'resource_link',
      uri: 'ui://s__v/a.html',
      name: 'a',
    });
    expect(
      namespaceContentUris(aggregateNamespace, 's', { type: 'resource', resource: { uri: 'ui://v/a.html', text: '<p>' } }),
    ).toEqual({ type: 'resource', resource: { uri: 'ui://s__v/a.html', text: '<p>' } });
  });

  it('rewrites a tool’s MCP Apps view links, and nothing else in _meta', () => {
    const tool = {
      name: 'show',
      inputSchema: { type: 'object' as const },
      _meta: { ui: { resourceUri: 'ui://demo/view.html', visibility: ['model', 'app'] }, 'ui/resourceUri': 'ui://demo/view.html', other: 'ui://demo/x' },
    };
    expect(namespaceToolViews(aggregateNamespace, 'apps', tool)).toEqual({
      ...tool,
      _meta: { ui: { resourceUri: 'ui://apps__demo/view.html', visibility: ['model', 'app'] }, 'ui/resourceUri': 'ui://apps__demo/view.html', other: 'ui://demo/x' },
    });
    // Each link on its own.
    expect(namespaceToolViews(aggregateNamespace, 'apps', { _meta: { 'ui/resourceUri': 'ui://d/v' } })).toEqual({ _meta: { 'ui/resourceUri': 'ui://apps__d/v' } });
    expect(namespaceToolViews(aggregateNamespace, 'apps', { _meta: { ui: { resourceUri: 'ui://d/v' } } })).toEqual({ _meta: { ui: { resourceUri: 'ui://apps__d/v' } } });
    expect(tool._meta.ui.resourceUri).toBe('ui://demo/view.html');
  });

  it.each<[string, { name: string; _meta?: Record<string, unknown> }]>([
    ['no _meta', { name: 't' }],
    ['no view', { name: 't', _meta: { 'example.com/x': 1 } }],
    ['links that are not ui://', { name: 't', _meta: { ui: { resourceUri: 'https://x/v.html' }, 'ui/resourceUri': 'demo://v' } }],
    ['links that are not strings', { name: 't', _meta: { ui: { resourceUri: 7 }, 'ui/resourceUri': ['ui://d/v'] } }],
    ['ui that is not an object', { name: 't', _meta: { ui: 'ui://d/v' } }],
  ])('leaves a tool with %s as the same object', (_what, tool) => {
    expect(namespaceToolViews(aggregateNamespace, 'apps', tool)).toBe(tool);
  });

  it('rewrites a tool result’s ui/resourceUri only', () => {
    const result = { content: [], _meta: { 'ui/resourceUri': 'ui://demo/view.html', ui: { resourceUri: 'ui://demo/view.html' }, trace: 'abc' } };
    expect(namespaceResultView(aggregateNamespace, 'apps', result)).toEqual({
      content: [],
      _meta: { 'ui/resourceUri': 'ui://apps__demo/view.html', ui: { resourceUri: 'ui://demo/view.html' }, trace: 'abc' },
    });
    const plain = { content: [], _meta: { 'ui/resourceUri': 'demo://view' } };
    expect(namespaceResultView(aggregateNamespace, 'apps', plain)).toBe(plain);
    const bare: { content: []; _meta?: Record<string, unknown> } = { content: [] };
    expect(namespaceResultView(aggregateNamespace, 'apps', bare)).toBe(bare);
  });

  it('leaves names and URIs alone on a single-server endpoint', () => {
    const single = singleServerNamespace('files');
    expect(single.uri('files', 'file:///a')).toBe('file:///a');
    expect(single.parseName('read_file')).toEqual({ slug: 'files', name: 'read_file' });
    expect(single.uri('files', 'ui://demo/view.html')).toBe('ui://demo/view.html');
    expect(single.parseUri('ui://demo/view.html')).toEqual({ slug: 'files', uri: 'ui://demo/view.html' });
  });
});
