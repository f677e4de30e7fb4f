import { describe, expect, it } from 'vitest';
import { inOptionWords } from '../../src/cli/options.ts';

describe('a service’s refusal of a field, in the command line’s words', () => {
  const botArgs = { tenant: 'acme', slug: 'b1', servers: ['files', 'file s'], bots: ['x y'], max_tokens: 99_999_999, anthropic_api_key: 'sk-x' };

  it('names the option and, in a list, the entry as it was written', () => {
    expect(inOptionWords('bot.create', botArgs, 'servers.1.slug: must be 1-63 lowercase letters')).toBe('--servers "file s": must be 1-63 lowercase letters');
    expect(inOptionWords('bot.create', botArgs, 'bots.0: must be 1-63 lowercase letters')).toBe('--bots "x y": must be 1-63 lowercase letters');
    expect(inOptionWords('bot.create', botArgs, 'max_tokens: must be between 1 and 64000')).toBe('--max-tokens: must be between 1 and 64000');
    expect(inOptionWords('bot.create', botArgs, 'anthropic_api_key: too short')).toBe('--anthropic-key-stdin: too short');
    // Server entries given as objects are named by their slug.
    expect(inOptionWords('bot.update', { servers: [{ slug: 'gh', tools: ['x'] }] }, 'servers.0.tools.0: no such tool')).toBe('--servers "gh": no such tool');
  });

  it('keeps the path inside a JSON option', () => {
    const args = { tenant: 'acme', slug: 'f', kind: 'filesystem', config: { roots: [5] }, secrets: { token: 'x' } };
    expect(inOptionWords('server.create', args, 'config.roots.0: expected string')).toBe('--config (roots.0): expected string');
    expect(inOptionWords('server.create', args, 'config: unknown field(s): URL')).toBe('--config: unknown field(s): URL');
    expect(inOptionWords('server.create', args, 'secrets.token: must not be empty')).toBe('--secret (token): must not be empty');
  });

  it('leaves alone a word after the command, a field no option gave, and any other message', () => {
    expect(inOptionWords('tenant.create', { slug: 'Not_A_Slug' }, 'slug: must be 1-63 lowercase letters')).toBe('slug: must be 1-63 lowercase letters');
    expect(inOptionWords('bot.create', botArgs, 'temperature: must be null while thinking_budget is set')).toBe('temperature: must be null while thinking_budget is set');
    expect(inOptionWords('bot.create', botArgs, 'tenant "acme" not found')).toBe('tenant "acme" not found');
  });
});
