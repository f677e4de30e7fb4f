import { describe, expect, it } from 'vitest';
import { inOptionWords } from '../../src/cli/options.ts';

const BOT_OPTIONS = ['tenant', 'slug', 'name', 'description', 'model', 'system', 'servers', 'bots', 'temperature', 'max-tokens', 'thinking-budget', 'anthropic-key-stdin'];
const SERVER_OPTIONS = ['tenant', 'slug', 'kind', 'config', 'secret'];

describe('a service’s refusal of a field, in the command line’s words', () => {
  const botArgs = { tenant: 'acme', slug: 'b1', servers: ['files', 'file s'], bots: ['x y'], max_tokens: 99_999_999, anthropic_api_key: 'sk-x' };
  const bot = (message: string, args: Record<string, unknown> = botArgs) => inOptionWords('bot.create', BOT_OPTIONS, args, message);

  it('names the option and, in a list, the entry as it was written', () => {
    expect(bot('servers.1.slug: must be 1-63 lowercase letters')).toBe('--servers "file s": must be 1-63 lowercase letters');
    expect(bot('bots.0: must be 1-63 lowercase letters')).toBe('--bots "x y": must be 1-63 lowercase letters');
    expect(bot('max_tokens: must be between 1 and 64000')).toBe('--max-tokens: must be between 1 and 64000');
    expect(bot('anthropic_api_key: too short')).toBe('--anthropic-key-stdin: too short');
    expect(bot('system_prompt: must be at most 100000 characters')).toBe('--system: must be at most 100000 characters');
    // Server entries given as objects are named by their slug.
    expect(bot('servers.0.tools.0: no such tool', { servers: [{ slug: 'gh', tools: ['x'] }] })).toBe('--servers "gh": no such tool');
  });

  it('keeps the path inside a JSON option, and names the option a refused field needs when it was not given', () => {
    const args = { tenant: 'acme', slug: 'f', kind: 'github', config: { roots: [5] } };
    const server = (message: string) => inOptionWords('server.create', SERVER_OPTIONS, args, message);
    expect(server('config.roots.0: expected string')).toBe('--config (roots.0): expected string');
    expect(server('config: unknown field(s): URL')).toBe('--config: unknown field(s): URL');
    expect(server('secrets.token: required for a github server')).toBe('--secret (token): required for a github server');
  });

  it('names another field a reason names as its option, when the command has one', () => {
    expect(bot('thinking_budget: must be less than max_tokens (4096)')).toBe('--thinking-budget: must be less than --max-tokens (4096)');
    expect(bot('temperature: must be null while thinking_budget is set: the model thinks at its own temperature')).toBe(
      '--temperature: must be null while --thinking-budget is set: the model thinks at its own temperature',
    );
    // A snake_case word no option of the command gives is left as it is.
    expect(bot('max_tokens: over the model_limit of claude-x')).toBe('--max-tokens: over the model_limit of claude-x');
  });

  it('leaves alone a word after the command, a field no option of the command gives, and any other message', () => {
    expect(inOptionWords('tenant.create', [], { slug: 'Not_A_Slug' }, 'slug: must be 1-63 lowercase letters')).toBe('slug: must be 1-63 lowercase letters');
    expect(inOptionWords('server.update', ['tenant', 'slug', 'config', 'secret', 'clear-secret'], { slug: 'Bad' }, 'slug: must be lowercase')).toBe('slug: must be lowercase');
    expect(bot('secrets.token: required')).toBe('secrets.token: required');
    expect(bot('tenant "acme" not found')).toBe('tenant "acme" not found');
  });
});
