import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { OPTIONS } from '../../src/cli/arguments.ts';
import { toCommand } from '../../src/cli/commands.ts';
import { checkOptions } from '../../src/cli/options.ts';

/** What an operator command gets from `botgate ...argv`, with `stdin` as the command's stdin. */
export async function commandOf(argv: string[], stdin: AsyncIterable<string | Buffer> = Readable.from([])) {
  const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  const command = await toCommand(positionals, values, stdin);
  checkOptions(command.name, command.args);
  return command;
}

/** A stdin that fails the test if it is read. */
export const unread: AsyncIterable<string> = {
  [Symbol.asyncIterator]() {
    throw new Error('stdin was read');
  },
};
