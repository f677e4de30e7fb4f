// Claude Code against the gateway, connected as the README says (`claude mcp add --transport http`),
// in a home folder of its own. `claude mcp list` checks each connection without a model; headless
// turns (`claude -p`) then run against the fake Claude API, whose scripted model calls a gateway
// tool, then a tenant bot, so that Claude Code itself lists the gateway's tools and bots, calls
// them and hands their results back. The gateway's bot asks the same fake API.
import fs from 'node:fs/promises';
import path from 'node:path';
import { startFakeAnthropic, textReply, toolUseReply, type FakeAnthropic } from '../../test/fakes/anthropic.ts';
import { printedJson, runCommand, type ClientCheck, type Printed } from './client-checks.ts';
import { operatorCommand, type RunningGateway } from './processes.ts';
import type { Tooling } from './tooling.ts';

const COMMAND_TIMEOUT_MS = 120_000;
/** The name Claude Code is given for the gateway; its tools are then `mcp__botgate__{server}__{tool}`. */
const NAME = 'botgate';
const WRITE_TOOL = `mcp__${NAME}__files__write_file`;
const WRITTEN = { path: 'claude-code.txt', content: 'written by Claude Code through the gateway' };
const MODEL = 'claude-sonnet-4-5';
/** The key Claude Code and the gateway's bots present to the fake Claude API. */
export const CLAUDE_API_KEY = 'sk-ant-claude-code-check';
const BOT = { slug: 'helper', system: 'You are the Botgate check bot.', answer: 'The helper bot says everything is in order.' };
const BOT_TOOL = `mcp__${NAME}__bot__${BOT.slug}`;
/** What the prompt of the turn that asks the bot says, so that the fake model knows which turn it is in. */
const ASK_BOT = 'Ask the helper bot whether everything is in order.';

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

/**
 * The Claude API for Claude Code and for the gateway's bot: one fake, its model answering by who
 * asks. The bot (known by its system prompt) answers in words; Claude Code's model calls the bot
 * in the turn that asks for it and writes the file otherwise, then reports the tool's result.
 */
export function startClaudeApi(): Promise<FakeAnthropic> {
  return startFakeAnthropic({
    apiKey: CLAUDE_API_KEY,
    respond(body) {
      const request = body as MessagesRequest & { system?: unknown };
      if (JSON.stringify(request.system ?? '').includes(BOT.system)) return textReply(BOT.answer);
      const [result] = toolResultsOf(request);
      if (result !== undefined) return textReply(`The gateway answered: ${result}`);
      const [wanted, input] = JSON.stringify(request.messages).includes(ASK_BOT)
        ? [BOT_TOOL, { message: 'Is everything in order?' }]
        : [WRITE_TOOL, WRITTEN];
      if (request.tools?.some((tool) => tool.name === wanted)) return toolUseReply([{ name: wanted, input }]);
      return textReply(`no ${wanted} among the tools`);
    },
  });
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
 * key has the `mcp` scope, on a gateway whose bots use `api` (`startClaudeApi`);
 * a bot is added to the tenant. The file the turn writes lands in `dataDir`.
 */
export async function runClaudeCodeChecks(options: {
  tooling: Tooling;
  gateway: RunningGateway;
  api: FakeAnthropic;
  dataDir: string;
  tenant: string;
  key: string;
  work: string;
}): Promise<ClientCheck[]> {
  const { tooling, gateway, api, tenant, key } = options;
  await operatorCommand(gateway, 'bot.create', {
    tenant,
    slug: BOT.slug,
    model: MODEL,
    system: BOT.system,
    description: 'Says whether everything is in order; ask it in plain words.',
  });
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

  // Claude Code's model is the fake; tools are listed up front (no deferred tool search), so the fake sees them at once.
  const turn = (prompt: string, tool: string) =>
    claude(tooling, home, ['-p', prompt, '--model', MODEL, '--allowedTools', tool, '--output-format', 'json'], {
      ANTHROPIC_BASE_URL: api.url,
      ANTHROPIC_API_KEY: CLAUDE_API_KEY,
      ENABLE_TOOL_SEARCH: 'false',
    });
  const answerOf = (printed: Printed) => {
    const result = printedJson(printed)?.['result'];
    return typeof result === 'string' ? result : '';
  };

  // The fake model writes a file through the gateway, then answers with what the tool said.
  const written = await turn(`Write "${WRITTEN.content}" to ${WRITTEN.path}.`, WRITE_TOOL);
  const offered = api.requests.flatMap((request) => (request.body as MessagesRequest).tools ?? []).map((tool) => tool.name);
  record(
    'a headless turn offers the model the gateway’s tools and bots, named mcp__botgate__{server}__{tool} and mcp__botgate__bot__{slug}',
    [WRITE_TOOL, `mcp__${NAME}__everything__echo`, BOT_TOOL].every((name) => offered.includes(name)) ? undefined : `the model was offered ${[...new Set(offered)].join(', ')}`,
  );
  const stored = await fs.readFile(path.join(options.dataDir, 'files', tenant, 'files', WRITTEN.path), 'utf8').catch(() => undefined);
  record(
    'the model’s tool call runs on the gateway (the file is written) and its result goes back to the model',
    stored === WRITTEN.content && answerOf(written).includes(WRITTEN.path) ? undefined : `file: ${String(stored)}; Claude Code printed ${written.text.slice(0, 500)}`,
  );

  // The fake model asks the tenant's bot, which the gateway runs on its own model call.
  const asked = await turn(ASK_BOT, BOT_TOOL);
  const botRan = api.requests.some((request) => JSON.stringify((request.body as { system?: unknown }).system ?? '').includes(BOT.system));
  record(
    'the model asks a tenant bot: the gateway runs the bot, and its answer goes back to the model',
    botRan && answerOf(asked).includes(BOT.answer) ? undefined : `bot ran: ${botRan}; Claude Code answered ${answerOf(asked).slice(0, 500)}`,
  );
  return results;
}
