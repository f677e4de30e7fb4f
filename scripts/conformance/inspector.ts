// The MCP Inspector, in its CLI mode, against the gateway's aggregate endpoint: a third-party client
// that the README tells users to connect, run as they would run it (one process per command, the
// key in a header). Each check runs one or two commands and compares what the Inspector printed.
import fs from 'node:fs/promises';
import path from 'node:path';
import { printedJson, runChecks, runCommand, type ClientCheck, type Printed } from './client-checks.ts';
import { operatorCommand, type RunningGateway } from './processes.ts';
import type { Tooling } from './tooling.ts';

/** One command's bound: the Inspector connects anew each time. */
const COMMAND_TIMEOUT_MS = 30_000;

/** Runs `mcp-inspector --cli <url> ...args` under the Inspector's Node, its stored state kept in `home`. */
function inspect(tooling: Tooling, home: string, url: string, args: string[]): Promise<Printed> {
  // No terminal: an Inspector that needs a sign-in says so instead of waiting for a person.
  return runCommand(tooling.node, [tooling.inspector, '--cli', url, ...args], {
    env: { ...process.env, HOME: home, MCP_AUTO_OPEN_ENABLED: 'false' },
    timeoutMs: COMMAND_TIMEOUT_MS,
  });
}

const textOf = (printed: Printed) =>
  ((printedJson(printed)?.['content'] as Array<{ text?: string }> | undefined) ?? []).map((c) => c.text ?? '').join('\n');
const toolNames = (printed: Printed) => ((printedJson(printed)?.['tools'] as Array<{ name: string }> | undefined) ?? []).map((t) => t.name);
const errorCode = (printed: Printed) => (printedJson(printed)?.['error'] as { code?: string } | undefined)?.code;

/**
 * The checks, against a tenant with a remote `everything` server (server-everything): a
 * filesystem server `files` is added to it, and a key restricted to that server is made.
 */
export async function runInspectorChecks(options: {
  tooling: Tooling;
  gateway: RunningGateway;
  tenant: string;
  key: string;
  work: string;
}): Promise<ClientCheck[]> {
  const { tooling, gateway, tenant, key } = options;
  const home = path.join(options.work, 'inspector-home');
  await fs.mkdir(home, { recursive: true });
  await operatorCommand(gateway, 'server.create', { tenant, slug: 'files', kind: 'filesystem' });
  const restricted = await operatorCommand<{ key: { secret: string } }>(gateway, 'key.create', {
    tenant,
    name: 'inspector, files only',
    scopes: ['mcp'],
    tools: ['files'],
  });
  const aggregate = `${gateway.url}/t/${tenant}/mcp`;
  // The transport is named: the Inspector guesses it only from URLs ending in /mcp.
  const run = (args: string[], url = aggregate, secret: string | null = key) =>
    inspect(tooling, home, url, ['--transport', 'http', ...(secret === null ? [] : ['--header', `Authorization: Bearer ${secret}`]), ...args]);

  return runChecks([
    {
      name: 'tools/list on /t/{tenant}/mcp names every server’s tools {server}__{tool}',
      async check() {
        const names = toolNames(await run(['--method', 'tools/list']));
        const missing = ['everything__echo', 'files__write_file', 'files__read_file'].filter((name) => !names.includes(name));
        return missing.length > 0 ? `missing ${missing.join(', ')} in ${names.length} tools` : undefined;
      },
    },
    {
      name: 'tools/call writes a file with files__write_file and reads it back with files__read_file',
      async check() {
        const content = 'written by the MCP Inspector';
        const written = await run(['--method', 'tools/call', '--tool-name', 'files__write_file', '--tool-arg', 'path=inspector.txt', `content=${content}`]);
        if (written.code !== 0) return `write_file: ${written.text.slice(0, 300)}`;
        const read = await run(['--method', 'tools/call', '--tool-name', 'files__read_file', '--tool-arg', 'path=inspector.txt']);
        return textOf(read) === content ? undefined : `read_file printed ${read.text.slice(0, 300)}`;
      },
    },
    {
      name: 'tools/call reaches the remote upstream (everything__echo)',
      async check() {
        const echoed = await run(['--method', 'tools/call', '--tool-name', 'everything__echo', '--tool-arg', 'message=through the gateway']);
        return textOf(echoed) === 'Echo: through the gateway' ? undefined : `printed ${echoed.text.slice(0, 300)}`;
      },
    },
    {
      name: 'prompts/get fills in an upstream prompt’s arguments (everything__args-prompt)',
      async check() {
        const prompt = await run(['--method', 'prompts/get', '--prompt-name', 'everything__args-prompt', '--prompt-args', 'city=Paris']);
        return prompt.text.includes('Paris') && prompt.code === 0 ? undefined : `printed ${prompt.text.slice(0, 300)}`;
      },
    },
    {
      name: 'resources/read reads back a namespaced resource that resources/list gave',
      async check() {
        const listed = await run(['--method', 'resources/list']);
        const [first] = (printedJson(listed)?.['resources'] as Array<{ uri: string }> | undefined) ?? [];
        if (!first) return `resources/list printed ${listed.text.slice(0, 300)}`;
        const read = await run(['--method', 'resources/read', '--uri', first.uri]);
        const [contents] = (printedJson(read)?.['contents'] as Array<{ uri: string }> | undefined) ?? [];
        return contents?.uri === first.uri ? undefined : `resources/read ${first.uri} printed ${read.text.slice(0, 300)}`;
      },
    },
    {
      name: 'tools/list on /t/{tenant}/mcp/servers/files names that server’s tools as they are',
      async check() {
        const names = toolNames(await run(['--method', 'tools/list'], `${aggregate}/servers/files`));
        return names.includes('read_file') && !names.some((name) => name.includes('__')) ? undefined : `listed ${names.join(', ')}`;
      },
    },
    {
      name: 'without a key, and with a wrong one, the Inspector is sent to sign in (auth_required), and lists nothing',
      async check() {
        const anonymous = await run(['--method', 'tools/list'], aggregate, null);
        const wrong = await run(['--method', 'tools/list'], aggregate, 'bgk_not-a-key');
        const problems = [anonymous, wrong].filter((printed) => errorCode(printed) !== 'auth_required' || toolNames(printed).length > 0);
        return problems.length === 0 ? undefined : problems.map((printed) => printed.text.slice(0, 300)).join(' / ');
      },
    },
    {
      name: 'a key restricted to one server lists only its tools, and a call to another server’s tool is refused',
      async check() {
        const names = toolNames(await run(['--method', 'tools/list'], aggregate, restricted.key.secret));
        if (names.length === 0 || names.some((name) => !name.startsWith('files__'))) return `listed ${names.join(', ')}`;
        const refused = await run(['--method', 'tools/call', '--tool-name', 'everything__echo', '--tool-arg', 'message=x'], aggregate, restricted.key.secret);
        // The tool is not in the key's list, so the Inspector says so rather than calling it.
        return errorCode(refused) === 'tool_not_found' ? undefined : `the call printed ${refused.text.slice(0, 300)}`;
      },
    },
  ]);
}
