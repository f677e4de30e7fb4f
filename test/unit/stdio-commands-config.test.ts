import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/shared/config.ts';

/** The message loadConfig refuses BOTGATE_STDIO_COMMANDS with. */
function refusal(commands: string): string {
  try {
    loadConfig({ BOTGATE_STDIO_COMMANDS: commands });
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('loadConfig accepted the commands');
}

const NAME_RULE = 'must be a command name: 1-64 lowercase letters, digits, "-" or "_", not starting with "-" or "_"';

describe('BOTGATE_STDIO_COMMANDS', () => {
  it('takes the operator’s commands by name, arguments defaulting to none', () => {
    const config = loadConfig({ BOTGATE_STDIO_COMMANDS: '{"files": {"command": "/usr/bin/mcp-files", "args": ["--ro"]}, "time": {"command": "mcp-time"}}' });
    expect(config.stdioCommands).toEqual({
      files: { command: '/usr/bin/mcp-files', args: ['--ro'] },
      time: { command: 'mcp-time', args: [] },
    });
  });

  it.each([
    ['a name tenants could not give', '{"Files": {"command": "/bin/x"}}', `BOTGATE_STDIO_COMMANDS: "Files": ${NAME_RULE}`],
    ['a name that is a path', '{"../x": {"command": "/bin/x"}}', `BOTGATE_STDIO_COMMANDS: "../x": ${NAME_RULE}`],
    // JSON.parse keeps it as a key of its own, which the schema would otherwise drop without a word.
    ['"__proto__"', '{"ok": {"command": "/bin/ok"}, "__proto__": {"command": "/bin/x"}}', `BOTGATE_STDIO_COMMANDS: "__proto__": ${NAME_RULE}`],
    ['an environment, which commands cannot be given', '{"x": {"command": "/bin/x", "env": {"A": "b"}}}', 'BOTGATE_STDIO_COMMANDS: x: Unrecognized key: "env"'],
    ['arguments as one string', '{"x": {"command": "/bin/x", "args": "-v"}}', 'BOTGATE_STDIO_COMMANDS: x.args: Invalid input: expected array, received string'],
    ['an empty command', '{"x": {"command": ""}}', 'BOTGATE_STDIO_COMMANDS: x.command: Too small: expected string to have >=1 characters'],
    ['a list', '[{"command": "/bin/x"}]', 'BOTGATE_STDIO_COMMANDS: must be JSON like {"name": {"command": "/usr/bin/x", "args": []}}'],
    ['text that is not JSON', 'x=/bin/x', 'BOTGATE_STDIO_COMMANDS: must be JSON like {"name": {"command": "/usr/bin/x", "args": []}}'],
  ])('refuses %s, saying which command and why', (_what, commands, message) => {
    expect(refusal(commands)).toBe(`invalid configuration: ${message}`);
  });
});
