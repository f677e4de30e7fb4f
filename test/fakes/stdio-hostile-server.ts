// A 2025-era MCP server over stdio, written by hand so that it can misbehave in ways no SDK
// server would: `node --import tsx test/fakes/stdio-hostile-server.ts [behaviour...]` from the
// repository's root (or from anywhere with tsx's full path: see test/support/stdio-processes.ts).
// Behaviours given as arguments apply from the start:
//   ignore-term   ignores SIGTERM, SIGINT and the end of stdin (only SIGKILL ends it)
//   silent        never answers `initialize`
//   strict        exits on any request before `initialize`, as servers built on some SDKs do
//   garbage       writes non-JSON lines, non-JSON-RPC JSON and answers to unknown ids around each answer
//   helper        starts a helper process that keeps its stdout and stderr (as a wrapper script's child would)
//   marker=<text> names nothing; it is in the command line of this process and of its helper, for tests to find them
// Tools: `echo` ({ message }), `whoami` (pid, helper's pid, cwd, environment), `crash` ({ afterMs }: exits mid-call), `hang` (never answers), `ask` (asks the gateway for sampling, elicitation
// and roots, answering with what it got back), `flood_stderr` ({ lines }), `flood_requests` (stops reading and asks
// without end), `chatty` ({ count }: that many small notifications in one write).
import { spawn, type ChildProcess } from 'node:child_process';

const behaviours = new Set(process.argv.slice(2));
type Message = { jsonrpc: '2.0'; id?: number | string; method?: string; params?: Record<string, unknown>; result?: unknown; error?: unknown };

if (behaviours.has('ignore-term')) {
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => undefined);
  // Keeps running after stdin ends.
  setInterval(() => undefined, 60_000);
}

let helper: ChildProcess | undefined;
if (behaviours.has('helper')) {
  // Inherits stdout and stderr, and ignores SIGTERM: it outlives its parent unless its process group is killed.
  const marker = process.argv.find((arg) => arg.startsWith('marker=')) ?? '';
  helper = spawn(process.execPath, ['-e', 'process.on("SIGTERM", () => {}); setInterval(() => {}, 60000)', marker], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

function send(message: Message): void {
  if (behaviours.has('garbage')) {
    process.stdout.write('this is not json\n{"half": \n[1,2,3]\n{"jsonrpc":"2.0","id":987654,"result":{}}\n\n');
  }
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

const text = (value: string) => ({ content: [{ type: 'text', text: value }] });
let initialized = false;
let nextRequestId = 1;
const awaited = new Map<number, (message: Message) => void>();

/** Asks the gateway something, resolving with its answer (result or error). */
function ask(method: string, params: Record<string, unknown>): Promise<Message> {
  const id = nextRequestId++;
  return new Promise((resolve) => {
    awaited.set(id, resolve);
    send({ jsonrpc: '2.0', id: `srv-${id}`, method, params });
  });
}

const TOOLS = ['echo', 'whoami', 'crash', 'hang', 'ask', 'flood_stderr', 'flood_requests', 'chatty'].map((name) => ({
  name,
  description: `The ${name} tool.`,
  inputSchema: { type: 'object', properties: {}, additionalProperties: true },
}));

async function callTool(name: string, args: Record<string, unknown>): Promise<unknown> {
  switch (name) {
    case 'echo':
      return text(`echo: ${String(args['message'])}`);
    case 'whoami':
      return text(JSON.stringify({ pid: process.pid, helperPid: helper?.pid, cwd: process.cwd(), env: process.env }));
    case 'crash':
      setTimeout(() => process.exit(1), Number(args['afterMs'] ?? 0));
      return new Promise(() => undefined);
    case 'hang':
      return new Promise(() => undefined);
    case 'ask': {
      const answers = await Promise.all([
        ask('sampling/createMessage', { messages: [{ role: 'user', content: { type: 'text', text: 'hi' } }], maxTokens: 10 }),
        ask('elicitation/create', { message: 'name?', requestedSchema: { type: 'object', properties: {} } }),
        ask('roots/list', {}),
      ]);
      return text(JSON.stringify(answers.map((answer) => answer.error ?? answer.result)));
    }
    case 'flood_stderr': {
      const lines = Number(args['lines'] ?? 10_000);
      for (let i = 0; i < lines; i++) process.stderr.write(`flood line ${i} ${'x'.repeat(200)}\n`);
      process.stderr.write('y'.repeat(1_000_000));
      process.stderr.write('\nflood done\n');
      return text('flooded');
    }
    case 'flood_requests': {
      // Stops reading its input, then asks the gateway `ping` without end: each answer the gateway writes back waits in a pipe nobody reads.
      process.stdin.pause();
      const burst = `${JSON.stringify({ jsonrpc: '2.0', id: 'flood', method: 'ping', params: { pad: 'p'.repeat(2_000) } })}\n`.repeat(100);
      const flood = () => process.stdout.write(burst, flood);
      flood();
      return new Promise(() => undefined);
    }
    case 'chatty': {
      // Many small messages in one write, which the gateway reads at once: together larger than one message may be.
      const count = Number(args['count'] ?? 100);
      const note = { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'n'.repeat(100) } };
      process.stdout.write(`${JSON.stringify(note)}\n`.repeat(count));
      return text(`sent ${count}`);
    }
    default:
      throw new Error(`unknown tool ${name}`);
  }
}

async function handle(message: Message): Promise<void> {
  if (message.method === undefined) {
    // An answer to one of our requests.
    const id = Number(String(message.id).replace('srv-', ''));
    awaited.get(id)?.(message);
    awaited.delete(id);
    return;
  }
  if (message.id === undefined) return;
  const { id, method, params = {} } = message;
  if (behaviours.has('strict') && !initialized && method !== 'initialize') process.exit(1);
  switch (method) {
    case 'initialize':
      if (behaviours.has('silent')) return;
      initialized = true;
      send({
        jsonrpc: '2.0',
        id,
        result: { protocolVersion: params['protocolVersion'], capabilities: { tools: {} }, serverInfo: { name: 'stdio-hostile', version: '1.0.0' } },
      });
      return;
    case 'ping':
      send({ jsonrpc: '2.0', id, result: {} });
      return;
    case 'tools/list':
      send({ jsonrpc: '2.0', id, result: { tools: TOOLS } });
      return;
    case 'tools/call': {
      const result = await callTool(String(params['name']), (params['arguments'] ?? {}) as Record<string, unknown>);
      send({ jsonrpc: '2.0', id, result });
      return;
    }
    default:
      send({ jsonrpc: '2.0', id, error: { code: -32601, message: `Method not found: ${method}` } });
  }
}

let buffered = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  buffered += chunk;
  let newline: number;
  while ((newline = buffered.indexOf('\n')) !== -1) {
    const line = buffered.slice(0, newline);
    buffered = buffered.slice(newline + 1);
    if (line.trim()) void handle(JSON.parse(line) as Message);
  }
});
process.stdin.on('end', () => {
  if (!behaviours.has('ignore-term')) process.exit(0);
});
