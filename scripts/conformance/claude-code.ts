// Claude Code against the gateway, connected as the README says (`claude mcp add --transport http`),
// in a home folder of its own. `claude mcp list` checks each connection without a model; headless
// turns (`claude -p`) then run against the fake Claude API, whose scripted model calls a gateway
// tool, then a tenant bot, so that Claude Code itself lists the gateway's tools and bots, calls
// them and hands their results back. The gateway's bot asks the same fake API. A person then signs
// in through Claude Code's own OAuth flow (claude-code-sign-in.ts), and a turn's tool call through that
// connection is audited as theirs.
import fs from 'node:fs/promises';
import path from 'node:path';
import { startFakeAnthropic, textReply, toolUseReply, type FakeAnthropic } from '../../test/fakes/anthropic.ts';
import { signInWithClaudeCode, waitFor } from './claude-code-sign-in.ts';
import { printedJson, runChecks, runCommand, type ClientCheck, type Printed } from './client-checks.ts';
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
/** The server Claude Code is given without a key: a person signs in for it. */
const SIGN_IN_NAME = `${NAME}-signin`;
const PERSON = { email: 'claude-code@conformance.example', password: 'correct horse battery staple' };
const PERSON_ECHO = { tool: `mcp__${SIGN_IN_NAME}__everything__echo`, message: 'echoed as the person who signed in' };
/** The turn in which the fake model calls a tool through the signed-in connection (no quotes: the fake finds it in JSON). */
const ECHO_AS_PERSON = `Through ${SIGN_IN_NAME}, echo: ${PERSON_ECHO.message}.`;

/** Claude Code's environment: its settings, history and OAuth tokens in `home`; its client metadata document at `clientMetadataUrl`. */
function claudeEnv(home: string, clientMetadataUrl: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    HOME: home,
    DISABLE_AUTOUPDATER: '1',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    MCP_OAUTH_CLIENT_METADATA_URL: clientMetadataUrl,
    ...extra,
  };
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
      const asked = JSON.stringify(request.messages);
      const scripted: Array<[string, string, Record<string, unknown>]> = [
        [ASK_BOT, BOT_TOOL, { message: 'Is everything in order?' }],
        [ECHO_AS_PERSON, PERSON_ECHO.tool, { message: PERSON_ECHO.message }],
      ];
      const [, wanted, input] = scripted.find(([prompt]) => asked.includes(prompt)) ?? ['', WRITE_TOOL, WRITTEN];
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

/** The line `claude mcp list` printed for the server `name`. */
const lineOf = (listed: Printed, name: string) => listed.text.split('\n').find((line) => line.startsWith(`${name}: `)) ?? '';

/**
 * The checks, against a tenant whose `files` filesystem server exists and whose
 * key has the `mcp` scope, on a gateway whose bots use `api` (`startClaudeApi`)
 * and which can fetch `clientMetadataUrl` (`startClaudeCodeClientDocument`);
 * a bot, a person and an audit key are added to the tenant. The file the turn
 * writes lands in `dataDir`.
 */
export async function runClaudeCodeChecks(options: {
  tooling: Tooling;
  gateway: RunningGateway;
  api: FakeAnthropic;
  dataDir: string;
  tenant: string;
  key: string;
  work: string;
  clientMetadataUrl: string;
}): Promise<ClientCheck[]> {
  const { tooling, gateway, api, tenant, key, clientMetadataUrl } = options;
  await operatorCommand(gateway, 'bot.create', {
    tenant,
    slug: BOT.slug,
    model: MODEL,
    system: BOT.system,
    description: 'Says whether everything is in order; ask it in plain words.',
  });
  const home = path.join(options.work, 'claude-home');
  const project = path.join(home, 'project');
  await fs.mkdir(project, { recursive: true });
  /** Runs the `claude` binary with `args` in the project, as the person at this machine would. */
  const claude = (args: string[], extra: Record<string, string> = {}) =>
    runCommand(tooling.claude, args, { cwd: project, env: claudeEnv(home, clientMetadataUrl, extra), timeoutMs: COMMAND_TIMEOUT_MS });
  const url = `${gateway.url}/t/${tenant}/mcp`;
  const results: ClientCheck[] = [];
  const record = (name: string, problem: string | undefined) => results.push({ name, passed: problem === undefined, ...(problem !== undefined && { problem }) });

  // As the README says: with a key for headless use, and without one for a person who signs in.
  const withKey = await claude(['mcp', 'add', '--transport', 'http', NAME, url, '--header', `Authorization: Bearer ${key}`]);
  const signIn = await claude(['mcp', 'add', '--transport', 'http', SIGN_IN_NAME, url]);
  record(
    '`claude mcp add --transport http` takes the gateway’s URL, with and without a key header',
    withKey.code === 0 && signIn.code === 0 ? undefined : `${withKey.text.slice(0, 300)} / ${signIn.text.slice(0, 300)}`,
  );

  const listed = await claude(['mcp', 'list']);
  record('`claude mcp list`: connected with the key', /Connected/.test(lineOf(listed, NAME)) ? undefined : `printed ${listed.text.slice(0, 500)}`);
  record(
    '`claude mcp list`: without a key, the gateway asks for sign-in (OAuth discovered)',
    /Needs authentication/.test(lineOf(listed, SIGN_IN_NAME)) ? undefined : `printed ${listed.text.slice(0, 500)}`,
  );

  // Claude Code's model is the fake; tools are listed up front (no deferred tool search), so the fake sees them at once.
  const turn = (prompt: string, tool: string) =>
    claude(['-p', prompt, '--model', MODEL, '--allowedTools', tool, '--output-format', 'json'], {
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

  // A person signs in for the keyless server through Claude Code's own OAuth flow, then works through it.
  const { user } = await operatorCommand<{ user: { id: string } }>(gateway, 'user.create', { tenant, role: 'member', ...PERSON });
  const { key: auditKey } = await operatorCommand<{ key: { secret: string } }>(gateway, 'key.create', { tenant, name: 'claude-code-audit', scopes: ['admin'] });
  const signedIn = await runChecks([
    {
      name: '`claude mcp login` (what /mcp → Authenticate runs) signs a person in: discovery, Claude Code’s client metadata document (as published, served locally), PKCE, sign-in and consent in the browser, the code to Claude Code’s loopback callback',
      check: async () => {
        const opened = await signInWithClaudeCode({ claude: tooling.claude, server: SIGN_IN_NAME, home, cwd: project, env: claudeEnv(home, clientMetadataUrl), gatewayUrl: gateway.url, person: PERSON });
        const query = opened.searchParams;
        const expected = opened.origin === gateway.url && query.get('client_id') === clientMetadataUrl && query.get('resource') === url && query.get('code_challenge_method') === 'S256';
        return expected ? undefined : `Claude Code opened ${opened.toString()}`;
      },
    },
    {
      name: '`claude mcp list`: connected after the sign-in, without a key',
      check: async () => {
        const relisted = await claude(['mcp', 'list']);
        return /Connected/.test(lineOf(relisted, SIGN_IN_NAME)) ? undefined : `printed ${relisted.text.slice(0, 500)}`;
      },
    },
    {
      name: 'a headless turn’s tool call through the signed-in connection runs on the gateway as that person (audit: the user, not a key)',
      check: async () => {
        const echoed = await turn(ECHO_AS_PERSON, PERSON_ECHO.tool);
        if (!answerOf(echoed).includes(PERSON_ECHO.message)) return `Claude Code printed ${echoed.text.slice(0, 500)}`;
        const event = await waitFor('the call in the audit trail', async () => {
          const response = await fetch(`${gateway.url}/api/v1/audit?action=tool.call&limit=50`, { headers: { authorization: `Bearer ${auditKey.secret}` } });
          const { events } = (await response.json()) as { events: Array<{ actor: { type: string; id: string | null }; after: unknown }> };
          return events.find((candidate) => JSON.stringify(candidate.after).includes(PERSON_ECHO.message));
        }, 10_000);
        return event.actor.type === 'user' && event.actor.id === user.id ? undefined : `audited as ${JSON.stringify(event.actor)}, not the user ${user.id}`;
      },
    },
  ]);
  return [...results, ...signedIn];
}
