import { describe, expect, it } from 'vitest';
import { formatResult } from '../../src/cli/format.ts';

const SERVER = { id: 'c5a1', slug: 'files', kind: 'filesystem', config: {}, secrets: {} };
const BOT = { id: 'b07', slug: 'notes', name: 'notes', model: 'claude-haiku-4-5', priced: true, temperature: null, max_tokens: 4096, thinking_budget: null, servers: [], bots: [], anthropic_api_key: null };

describe('botgate server delete and bot delete: what the deletion took its server or bot out of', () => {
  it('names the bots and the keys, each by name and id', () => {
    const detached = { bots: ['notes', 'helper'], keys: [{ id: 'k1', name: 'laptop' }, { id: 'k2', name: 'ci' }] };
    expect(formatResult('server.delete', { server: SERVER, tenant: 'acme', deleted: true, detached })).toBe(
      'deleted filesystem server files (c5a1) from acme; taken out of bots notes, helper and keys laptop (k1), ci (k2)',
    );
  });

  it('says bot and key for one, leaves out what is empty, and adds nothing when nothing named it', () => {
    const result = (detached: unknown) => formatResult('bot.delete', { bot: BOT, tenant: 'acme', deleted: true, detached });
    expect(result({ bots: ['lead'], keys: [] })).toBe('deleted bot notes (b07) from acme; taken out of bot lead');
    expect(result({ bots: [], keys: [{ id: 'k1', name: 'laptop' }] })).toBe('deleted bot notes (b07) from acme; taken out of key laptop (k1)');
    expect(result({ bots: [], keys: [] })).toBe('deleted bot notes (b07) from acme');
    // A gateway from before deletions reported this.
    expect(result(undefined)).toBe('deleted bot notes (b07) from acme');
  });
});
