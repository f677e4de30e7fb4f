import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/usage.ts';
import { commandOf, unread } from '../support/cli-command.ts';

const create = ['server', 'create', '--tenant', 'acme', '--slug', 'gh', '--kind', 'github'];
const update = ['server', 'update', '--tenant', 'acme', 'gh'];

describe('botgate server create and update: secrets from stdin', () => {
  it('reads the secret --secret-stdin names from stdin, less one final newline, beside --secret ones', async () => {
    const created = await commandOf([...create, '--secret-stdin', 'token', '--secret', 'extra=x=y'], Readable.from(['ghp_', 'abc=def\n']));
    expect(created.args).toEqual({ tenant: 'acme', slug: 'gh', kind: 'github', secrets: { token: 'ghp_abc=def', extra: 'x=y' } });
    const updated = await commandOf([...update, '--secret-stdin', 'token', '--clear-secret', 'extra'], Readable.from(['ghp_new\r\n']));
    expect(updated.args).toEqual({ tenant: 'acme', slug: 'gh', secrets: { token: 'ghp_new', extra: null } });
  });

  it('reads stdin only when asked', async () => {
    expect((await commandOf([...create, '--secret', 'token=t'], unread)).args).toMatchObject({ secrets: { token: 't' } });
    expect((await commandOf([...update, '--config', '{}'], unread)).args).toEqual({ tenant: 'acme', slug: 'gh', config: {} });
  });

  it.each([
    [[...create, '--secret-stdin', 'token=abc'], '--secret-stdin takes the NAME of a secret, its value on stdin; got "token=abc"'],
    [[...create, '--secret-stdin', ''], '--secret-stdin takes the NAME of a secret, its value on stdin; got ""'],
    [[...create, '--secret-stdin', 'token', '--secret', 'token=x'], '--secret and --secret-stdin both name token'],
    [[...update, '--secret-stdin', 'token', '--clear-secret', 'token'], '--secret-stdin and --clear-secret both name token'],
  ])('refuses %j before reading stdin', async (argv, message) => {
    await expect(commandOf(argv, unread)).rejects.toThrow(new UsageError(message));
  });
});
