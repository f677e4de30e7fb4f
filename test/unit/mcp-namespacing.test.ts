import { describe, expect, it } from 'vitest';
import { aggregateNamespace, namespaceContentUris, singleServerNamespace } from '../../src/gateway/mcp/namespacing.ts';

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

  it.each(['read_file', '__read_file', 'files__', 'botgate://', 'botgate:///x', 'botgate://files/', 'file:///etc/passwd'])(
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

  it('leaves names and URIs alone on a single-server endpoint', () => {
    const single = singleServerNamespace('files');
    expect(single.uri('files', 'file:///a')).toBe('file:///a');
    expect(single.parseName('read_file')).toEqual({ slug: 'files', name: 'read_file' });
  });
});
