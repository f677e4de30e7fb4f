// Claude Code against the gateway, connected as the README says (`claude mcp add --transport http`),
// in a home folder of its own. `claude mcp list` checks each connection without a model; one headless
// turn (`claude -p`) then runs against the fake Claude API, whose scripted model calls a gateway tool,
// so that Claude Code itself lists the gateway's tools, calls one and hands the result back.
import fs from 'node:fs/promises';
import path from 'node:path';
import { startFakeAnthropic, textReply, toolUseReply } from '../../test/fakes/anthropic.ts';
import { printedJson, runCommand, type ClientCheck, type Printed } from './client-checks.ts';
import type { RunningGateway } from './processes.ts';
import type { Tooling } from './tooling.ts';

const COMMAND_TIMEOUT_MS = 120_000;
/** The name Claude Code is given for the gateway; its tools are then `mcp__botgate__{server}__{tool}`. */
const NAME = 'botgate';
const WRITE_TOOL = `mcp__${NAME}__files__write_file`;
const WRITTEN = { path: 'claude-code.txt', content: 'written by Claude Code through the gateway' };
const MODEL = 'claude-sonnet-4-5';
const FAKE_API_KEY = 'sk-ant-claude-code-check';

/** Runs the `claude` binary with `args` in `home`, its settings and history kept there. */
function claude(tooling: Tooling, home: string, args: string[], env: Record<string, string> = {}): Promise<Printed> {
  return runCommand(tooling.claude, args, {
    cwd: path.join(home, 'project'),
    env: { ...process.env, HOME: home, DISABLE_AUTOUPDATER: '1', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', ...env },
    timeoutMs: COMMAND_TIMEOUT_MS,
  });
}

interface MessagesRequest {
  tools?: Array<{ name: string }>;
  messages: Array<{ role: string; content: unknown }>;
}

/** The tool results in the last message of a Messages API request, as text. */
function toolResultsOf(request: MessagesRequest): string[] {
  const last = request.messages.at(-1);
  if (!Array.isArray(last?.content)) return [];
  return (last.content as Array<{ type: string; content?: unknown }>)
    .filter((block) => block.type === 'tool_result')
    .map((block) => (typeof block.content === 'string' ? block.content : JSON.stringify(block.content)));
}

/**
 * The checks, against a tenant whose `files` filesystem server exists and whose
 * key has the `mcp` scope; the file the turn writes lands in `dataDir`.
 */
export async function runClaudeCodeChecks(options: {
  tooling: Tooling;
  gateway: RunningGateway;
  dataDir: string;
  tenant: string;
  key: string;
  work: string;
}): Promise<ClientCheck[]> {
  const { tooling, gateway, tenant, key } = options;
  const home = path.join(options.work, 'claude-home');
  await fs.mkdir(path.join(home, 'project'), { recursive: true });
  const url = `${gateway.url}/t/${tenant}/mcp`;
  const results: ClientCheck[] = [];
  const record = (name: string, problem: string | undefined) => results.push({ name, passed: problem === undefined, ...(problem !== undefined && { problem }) });

  // As the README says: with a key for headless use, and without one for a person who signs in.
  const withKey = await claude(tooling, home, ['mcp', 'add', '--transport', 'http', NAME, url, '--header', `Authorization: Bearer ${key}`]);
  const signIn = await claude(tooling, home, ['mcp', 'add', '--transport', 'http', `${NAME}-signin`, url]);
  record(
    '`claude mcp add --transport http` takes the gateway’s URL, with and without a key header',
    withKey.code === 0 && signIn.code === 0 ? undefined : `${withKey.text.slice(0, 300)} / ${signIn.text.slice(0, 300)}`,
  );

  const listed = await claude(tooling, home, ['mcp', 'list']);
  const lineOf = (name: string) => listed.text.split('\n').find((line) => line.startsWith(`${name}: `)) ?? '';
  record('`claude mcp list`: connected with the key', /Connected/.test(lineOf(NAME)) ? undefined : `printed ${listed.text.slice(0, 500)}`);
  record(
    '`claude mcp list`: without a key, the gateway asks for sign-in (OAuth discovered)',
    /Needs authentication/.test(lineOf(`${NAME}-signin`)) ? undefined : `printed ${listed.text.slice(0, 500)}`,
  );

  // One turn: the fake model writes a file through the gateway, then answers with what the tool said.
  const fake = await startFakeAnthropic({
    apiKey: FAKE_API_KEY,
    respond(body) {
      const request = body as MessagesRequest;
      const [result] = toolResultsOf(request);
      if (result !== undefined) return textReply(`The gateway answered: ${result}`);
      if (request.tools?.some((tool) => tool.name === WRITE_TOOL)) return toolUseReply([{ name: WRITE_TOOL, input: WRITTEN }]);
      return textReply(`no ${WRITE_TOOL} among the tools`);
    },
  });
  try {
    const turn = await claude(
      tooling,
      home,
      ['-p', `Write "${WRITTEN.content}" to ${WRITTEN.path}.`, '--model', MODEL, '--allowedTools', WRITE_TOOL, '--output-format', 'json'],
      // Tools listed up front (no deferred tool search), so the fake sees them in its first request.
      { ANTHROPIC_BASE_URL: fake.url, ANTHROPIC_API_KEY: FAKE_API_KEY, ENABLE_TOOL_SEARCH: 'false' },
    );
    const requests = fake.requests.filter((request) => request.path === '/v1/messages').map((request) => request.body as MessagesRequest);
    const offered = requests.flatMap((request) => request.tools ?? []).map((tool) => tool.name);
    record(
      'a headless turn offers the model the gateway’s tools, named mcp__botgate__{server}__{tool}',
      offered.includes(WRITE_TOOL) && offered.includes(`mcp__${NAME}__everything__echo`) ? undefined : `the model was offered ${[...new Set(offered)].join(', ')}`,
    );
    const stored = await fs.readFile(path.join(options.dataDir, 'files', tenant, 'files', WRITTEN.path), 'utf8').catch(() => undefined);
    const result = printedJson(turn)?.['result'];
    const answer = typeof result === 'string' ? result : '';
    record(
      'the model’s tool call runs on the gateway (the file is written) and its result goes back to the model',
      stored === WRITTEN.content && answer.includes(WRITTEN.path) ? undefined : `file: ${String(stored)}; Claude Code printed ${turn.text.slice(0, 500)}`,
    );
  } catch (error) {
    record('a headless turn against the fake Claude API', error instanceof Error ? error.message : String(error));
  } finally {
    await fake.close();
  }
  return results;
}
