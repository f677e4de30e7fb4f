import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPriceTable } from '../../src/bots/pricing/index.ts';

let dir: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'botgate-prices-'));
});

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function writeFile(name: string, content: unknown): Promise<string> {
  const file = path.join(dir, name);
  await fs.writeFile(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

const entry = {
  model: 'my-proxy-model',
  input: '2',
  output: '8',
  cache_write: '2.5',
  cache_read: '0.2',
  source: 'operator contract 42',
  as_of: '2026-11-01',
};

describe('the built-in price table', () => {
  it('prices a model by its id, with the rates, source and date of the table', async () => {
    const table = await loadPriceTable();
    expect(table.find('claude-sonnet-4-5')).toEqual({
      model: 'claude-sonnet-4-5',
      aliases: ['claude-sonnet-4-5-20250929'],
      input: '3',
      output: '15',
      cacheWrite: '3.75',
      cacheRead: '0.30',
      source: 'https://docs.anthropic.com/en/docs/about-claude/pricing',
      asOf: '2025-11-15',
    });
    expect(table.find('claude-opus-4-5')).toMatchObject({ input: '5', output: '25', cacheWrite: '6.25', cacheRead: '0.50' });
  });

  it('prices a dated id as its family only where the table declares that alias', async () => {
    const table = await loadPriceTable();
    expect(table.find('claude-haiku-4-5-20251001')?.model).toBe('claude-haiku-4-5');
    expect(table.find('claude-3-5-haiku-20241022')?.model).toBe('claude-3-5-haiku-latest');
    expect(table.find('claude-haiku-4-5-20991231')).toBeUndefined();
  });

  it('names the priced id or alias an unpriced model most likely misspells, and none when nothing is near', async () => {
    const table = await loadPriceTable();
    expect(table.similar('claude-sonet-4-5')).toBe('claude-sonnet-4-5');
    expect(table.similar('claude-sonnet-4.5')).toBe('claude-sonnet-4-5');
    expect(table.similar('CLAUDE-HAIKU-4-5')).toBe('claude-haiku-4-5');
    expect(table.similar('claude-haiku-4-5-20251002')).toBe('claude-haiku-4-5-20251001');
    for (const far of ['claude-future-9', 'gpt-4o', '']) expect(table.similar(far)).toBeUndefined();
  });

  it.each(['claude-sonnet-9', 'claude-sonnet-4', 'CLAUDE-HAIKU-4-5', 'claude-haiku-4-5 ', 'gpt-4o', ''])(
    'leaves %j unpriced, never priced as a neighbour',
    async (model) => {
      expect((await loadPriceTable()).find(model)).toBeUndefined();
    },
  );

  it('gives every entry a source and a date', async () => {
    for (const price of (await loadPriceTable()).models) {
      expect(price.source).toMatch(/^https:\/\/(docs\.anthropic\.com|platform\.claude\.com)\//);
      expect(price.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    }
  });
});

describe('an operator price file', () => {
  it('replaces the built-in entry of the same model and adds new ones, leaving the rest', async () => {
    const file = await writeFile('override.json', {
      models: [{ ...entry, model: 'claude-haiku-4-5', input: 0.9 }, entry],
    });
    const builtIn = await loadPriceTable();
    const table = await loadPriceTable({ overrideFile: file });

    expect(table.find('claude-haiku-4-5')).toMatchObject({ input: '0.9', output: '8', source: 'operator contract 42' });
    // The operator's entry declares no aliases: the dated id is no longer priced.
    expect(table.find('claude-haiku-4-5-20251001')).toBeUndefined();
    expect(table.find('my-proxy-model')).toMatchObject({ input: '2', cacheRead: '0.2', aliases: [] });
    expect(table.find('claude-sonnet-4-5')).toEqual(builtIn.find('claude-sonnet-4-5'));
    expect(table.models).toHaveLength(builtIn.models.length + 1);
  });

  it.each([
    ['a negative rate', { models: [{ ...entry, input: '-1' }] }, 'models.0.input: must be a non-negative decimal'],
    ['a rate in words', { models: [{ ...entry, output: 'three' }] }, 'models.0.output: must be a non-negative decimal'],
    ['too many decimals', { models: [{ ...entry, cache_read: '0.123456' }] }, 'models.0.cache_read: must be'],
    ['a missing rate', { models: [{ ...entry, cache_write: undefined }] }, 'models.0.cache_write: '],
    ['a misspelt field', { models: [{ ...entry, cache_writes: '1' }] }, 'models.0: '],
    ['a bad date', { models: [{ ...entry, as_of: 'last week' }] }, 'models.0.as_of: '],
    ['no models list', { prices: [] }, ''],
  ])('with %s fails naming the file and the field', async (_why, content, message) => {
    const file = await writeFile('bad.json', content);
    const load = loadPriceTable({ overrideFile: file });
    await expect(load).rejects.toThrow(`price file ${file}: ${message}`);
  });

  it('that is not JSON, or missing, fails naming the file', async () => {
    const file = await writeFile('broken.json', '{ "models": [');
    await expect(loadPriceTable({ overrideFile: file })).rejects.toThrow(`price file ${file}: `);
    const missing = path.join(dir, 'missing.json');
    await expect(loadPriceTable({ overrideFile: missing })).rejects.toThrow(`price file ${missing}: ENOENT`);
  });

  it('may not give one name two prices', async () => {
    const file = await writeFile('clash.json', { models: [{ ...entry, aliases: ['claude-sonnet-4-5-20250929'] }] });
    await expect(loadPriceTable({ overrideFile: file })).rejects.toThrow(
      `price file ${file}: "claude-sonnet-4-5-20250929" names both claude-sonnet-4-5 and my-proxy-model`,
    );
  });
});
