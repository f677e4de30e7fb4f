import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { formatResult, warningsOf } from '../../src/cli/format.ts';
import { UsageError } from '../../src/cli/usage.ts';
import { commandOf, unread } from '../support/cli-command.ts';

const update = (...argv: string[]) => commandOf(['bot', 'update', '--tenant', 'acme', 'writer', ...argv], unread);

describe('botgate bot update: the change it asks for', () => {
  it('takes words for null and an empty option for an empty list', async () => {
    const command = await update('--temperature', 'default', '--thinking-budget', 'off', '--servers', '', '--bots', ' a , b,');
    expect(command).toMatchObject({
      name: 'bot.update',
      args: { tenant: 'acme', slug: 'writer', temperature: null, thinking_budget: null, servers: [], bots: ['a', 'b'] },
    });
    expect(Object.keys(command.args).sort()).toEqual(['bots', 'servers', 'slug', 'temperature', 'tenant', 'thinking_budget']);
  });

  it('passes only what is given, numbers as numbers', async () => {
    const command = await update('--temperature', '.5', '--max-tokens', '2000', '--thinking-budget', '1024', '--system', '');
    expect(command.args).toEqual({ tenant: 'acme', slug: 'writer', temperature: 0.5, max_tokens: 2000, thinking_budget: 1024, system: '' });
    expect((await update('--temperature', '1')).args).toMatchObject({ temperature: 1 });
  });

  it.each([['warm'], ['-0.1'], ['1e0'], ['0.'], ['']])('refuses --temperature %j, naming what it takes', async (value) => {
    // `--temperature=-0.1`: as a separate word, a value starting with a dash is refused by the parser itself.
    await expect(update(`--temperature=${value}`)).rejects.toThrow(new UsageError(`--temperature takes a number from 0 to 1, or default, got "${value}"`));
  });

  it('refuses a budget that is neither a whole number nor off', async () => {
    await expect(update('--thinking-budget', 'none')).rejects.toThrow('--thinking-budget takes a whole number of tokens, or off, got "none"');
  });

  it('reads the key from stdin, less one final newline, and only when asked', async () => {
    const set = await commandOf(['bot', 'update', '--tenant', 'acme', 'writer', '--anthropic-key-stdin'], Readable.from(['sk-ant-', 'abc\n']));
    expect(set.args).toEqual({ tenant: 'acme', slug: 'writer', anthropic_api_key: 'sk-ant-abc' });
    expect((await update('--clear-anthropic-key')).args).toEqual({ tenant: 'acme', slug: 'writer', anthropic_api_key: null });
    const created = await commandOf(
      ['bot', 'create', '--tenant', 'acme', '--slug', 'b', '--model', 'm', '--system', 's', '--anthropic-key-stdin'],
      Readable.from(['sk-ant-xyz\r\n']),
    );
    expect(created.args).toMatchObject({ slug: 'b', anthropic_api_key: 'sk-ant-xyz' });
  });

  it('refuses an empty key, both key options, and an update with nothing to change', async () => {
    await expect(commandOf(['bot', 'update', '--tenant', 'acme', 'writer', '--anthropic-key-stdin'], Readable.from([' \n']))).rejects.toThrow(
      new UsageError('--anthropic-key-stdin: must not be empty'),
    );
    await expect(update('--anthropic-key-stdin', '--clear-anthropic-key')).rejects.toThrow('--anthropic-key-stdin and --clear-anthropic-key cannot both be given');
    await expect(update()).rejects.toThrow(
      'nothing to change: give --name, --description, --model, --system, --temperature, --max-tokens, --thinking-budget, --servers, --bots, --anthropic-key-stdin or --clear-anthropic-key',
    );
  });
});

describe('botgate bot update: what it prints', () => {
  const bot = {
    id: 'b-1',
    slug: 'writer',
    name: 'Writer',
    model: 'claude-future-9',
    priced: false,
    suggested_model: null,
    temperature: null,
    max_tokens: 8000,
    thinking_budget: 2048,
    servers: [{ slug: 'files', tools: ['read_file', 'list_directory'] }, { slug: 'gh' }],
    bots: ['editor', 'critic'],
    anthropic_api_key: 'set',
  };

  it('shows the settings, each server’s allow-list, and whether the bot has a key of its own', () => {
    expect(formatResult('bot.update', { bot, tenant: 'acme', can_answer: true })).toBe(
      'updated bot writer in acme: name "Writer", model claude-future-9, temperature default, max tokens 8000, thinking budget 2048, ' +
        'servers files[read_file,list_directory],gh, bots editor,critic, own Anthropic API key set\n' +
        'warning: claude-future-9 is not in the price table; its usage will be recorded unpriced',
    );
    expect(warningsOf('bot.update', { bot, tenant: 'acme', can_answer: true }, 'gateway')).toEqual([]);
  });

  it('names the priced model an unpriced one most likely misspells', () => {
    const misspelt = { ...bot, model: 'claude-sonet-4-5', suggested_model: 'claude-sonnet-4-5' };
    expect(formatResult('bot.update', { bot: misspelt, tenant: 'acme', can_answer: true }).split('\n')[1]).toBe(
      'warning: claude-sonet-4-5 is not in the price table; its usage will be recorded unpriced (did you mean claude-sonnet-4-5?)',
    );
  });

  it('warns when the bot cannot answer, pointing at --anthropic-key-stdin', () => {
    const [warning] = warningsOf('bot.update', { bot: { ...bot, anthropic_api_key: null }, tenant: 'acme', can_answer: false }, 'gateway');
    expect(warning).toMatch(/^bot writer cannot answer: .*: botgate bot update --tenant acme writer --anthropic-key-stdin, with the key on stdin$/);
  });
});
