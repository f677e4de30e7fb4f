// The processes the bots bench drives the gateway with: the fake Anthropic API, and the
// clients (the Anthropic SDK calling the fake directly, MCP clients asking through the
// gateway). Each is its own child process, so that neither their CPU nor their memory
// shows in the gateway process's event-loop delay and memory figures.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import Anthropic from '@anthropic-ai/sdk';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { startFakeAnthropic, textReply, type FakeAnthropic } from '../test/fakes/anthropic.ts';
import { quantile } from './load.ts';
import { clientFetch } from './client-fetch.ts';

export type PeerRole = 'bots-bench-fake' | 'bots-bench-clients';

export interface Target {
  url: string;
  headers: Record<string, string>;
}

export interface Quantiles {
  p50Ms: number;
  p95Ms: number;
}

/** Requests each peer answers; the reply of each is the matching `PeerReplies` entry. */
export type PeerRequest =
  | { type: 'start-fake'; apiKey: string; deltaDelayMs: number }
  | { type: 'first-tokens'; job: FirstTokenJob }
  | { type: 'connect'; target: Target; clients: number }
  | { type: 'ask-all'; deltas: number }
  | { type: 'disconnect' };

export interface FirstTokenJob {
  fakeUrl: string;
  apiKey: string;
  model: string;
  system: string;
  plain: Target;
  withFiles: Target;
  rounds: number;
  warmup: number;
  maxDurationMs: number;
  deltas: number;
}

export interface FirstTokenOutput {
  /** Time to first token of each path, ms, one entry per measured round, in order; NaN where the call failed. */
  direct: number[];
  plain: number[];
  withFiles: number[];
  /** The protocol era the MCP clients negotiated with the gateway. */
  era: string;
}

export interface AskAllOutput {
  completed: number;
  failed: number;
  firstError: string | null;
  wallMs: number;
  /** From sending an ask to its first progress notification. */
  firstProgress: Quantiles;
  /** From sending an ask to its result. */
  answer: Quantiles;
  /** Most asks between their first progress notification and their result at one moment. */
  peakStreaming: number;
  progressNotifications: number;
}

/** The fake's answer to a request for `deltas` text deltas: it streams text in 4-character pieces. */
export const answerOf = (deltas: number) => 'tok '.repeat(deltas);

/** Every request says how long an answer it wants, as "answer in N deltas". */
export const questionOf = (deltas: number) => `Please answer in ${deltas} deltas.`;

function requestedDeltas(body: unknown): number {
  const messages = (body as { messages?: Array<{ content: unknown }> } | undefined)?.messages ?? [];
  return Number(/answer in (\d+) deltas/.exec(JSON.stringify(messages.at(-1)?.content ?? ''))?.[1] ?? 1);
}

const textOf = (content: Array<{ type: string; text?: string }>) => content.map((c) => (c.type === 'text' ? (c.text ?? '') : '')).join('');

/** A v2 client in `auto` mode, as in the MCP proxy bench. */
async function connectClient(target: Target): Promise<Client> {
  const client = new Client({ name: 'botgate-bots-bench', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
  await client.connect(new StreamableHTTPClientTransport(new URL(target.url), { requestInit: { headers: target.headers }, fetch: clientFetch }));
  return client;
}

/** ms from sending the request to the first text delta, or NaN if the call failed or answered something else. */
async function directFirstToken(anthropic: Anthropic, job: FirstTokenJob): Promise<number> {
  const sent = performance.now();
  let first = Number.NaN;
  let text = '';
  try {
    const stream = anthropic.messages.stream({
      model: job.model,
      max_tokens: 1024,
      system: [{ type: 'text', text: job.system }],
      messages: [{ role: 'user', content: questionOf(job.deltas) }],
    });
    for await (const event of stream) {
      if (event.type !== 'content_block_delta' || event.delta.type !== 'text_delta') continue;
      if (text === '') first = performance.now();
      text += event.delta.text;
    }
  } catch {
    return Number.NaN;
  }
  return text === answerOf(job.deltas) ? first - sent : Number.NaN;
}

/** ms from calling `ask` to its first progress notification, or NaN if the call failed or answered something else. */
async function askFirstProgress(client: Client, deltas: number): Promise<number> {
  const sent = performance.now();
  let first = Number.NaN;
  try {
    const result = await client.callTool(
      { name: 'ask', arguments: { message: questionOf(deltas) } },
      {
        onprogress: () => {
          if (Number.isNaN(first)) first = performance.now();
        },
      },
    );
    return result.isError !== true && textOf(result.content) === answerOf(deltas) ? first - sent : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Rounds of the three measurements, one call of each per round, rotating which goes first. */
async function measureFirstTokens(job: FirstTokenJob): Promise<FirstTokenOutput> {
  const anthropic = new Anthropic({ apiKey: job.apiKey, baseURL: job.fakeUrl, maxRetries: 0 });
  const plain = await connectClient(job.plain);
  const withFiles = await connectClient(job.withFiles);
  try {
    const measures = [() => directFirstToken(anthropic, job), () => askFirstProgress(plain, job.deltas), () => askFirstProgress(withFiles, job.deltas)];
    const samples: [number[], number[], number[]] = [[], [], []];
    let deadline = Number.POSITIVE_INFINITY;
    for (let round = 0; round < job.warmup + job.rounds && performance.now() < deadline; round += 1) {
      if (round === job.warmup) deadline = performance.now() + job.maxDurationMs;
      for (let k = 0; k < measures.length; k += 1) {
        const index = (round + k) % measures.length;
        const ms = await measures[index]!();
        if (round >= job.warmup) samples[index as 0 | 1 | 2].push(ms);
      }
    }
    return { direct: samples[0], plain: samples[1], withFiles: samples[2], era: plain.getNegotiatedProtocolVersion() ?? 'unknown' };
  } finally {
    await Promise.allSettled([plain.close(), withFiles.close()]);
  }
}

function quantiles(values: number[]): Quantiles {
  const sorted = Float64Array.from(values).sort();
  return { p50Ms: quantile(sorted, 0.5), p95Ms: quantile(sorted, 0.95) };
}

/** Every connected client asks once, all at the same moment. */
async function askAll(clients: Client[], deltas: number): Promise<AskAllOutput> {
  let streaming = 0;
  let peakStreaming = 0;
  let progressNotifications = 0;
  let firstError: string | null = null;
  const started = performance.now();
  const outcomes = await Promise.all(
    clients.map(async (client) => {
      const sent = performance.now();
      let first: number | undefined;
      try {
        const result = await client.callTool(
          { name: 'ask', arguments: { message: questionOf(deltas) } },
          {
            timeout: 60_000,
            onprogress: () => {
              progressNotifications += 1;
              if (first !== undefined) return;
              first = performance.now();
              streaming += 1;
              peakStreaming = Math.max(peakStreaming, streaming);
            },
          },
        );
        const text = textOf(result.content);
        if (result.isError === true || text !== answerOf(deltas)) throw new Error(`unexpected answer: ${text.slice(0, 200)}`);
        return { ok: true, firstMs: (first ?? Number.NaN) - sent, answerMs: performance.now() - sent };
      } catch (error) {
        firstError ??= error instanceof Error ? error.message : String(error);
        return { ok: false, firstMs: Number.NaN, answerMs: Number.NaN };
      } finally {
        if (first !== undefined) streaming -= 1;
      }
    }),
  );
  const done = outcomes.filter((o) => o.ok);
  return {
    completed: done.length,
    failed: outcomes.length - done.length,
    firstError,
    wallMs: performance.now() - started,
    firstProgress: quantiles(done.map((o) => o.firstMs)),
    answer: quantiles(done.map((o) => o.answerMs)),
    peakStreaming,
    progressNotifications,
  };
}

/** Answers the parent's requests over IPC until it disconnects. */
function servePeer(handle: (request: PeerRequest) => Promise<unknown>): void {
  process.on('message', async (message: { id: number; request: PeerRequest }) => {
    try {
      process.send?.({ id: message.id, result: await handle(message.request) });
    } catch (error) {
      process.send?.({ id: message.id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    }
  });
  process.once('disconnect', () => process.exit(0));
}

function runFakePeer(): void {
  let fake: FakeAnthropic | undefined;
  servePeer(async (request) => {
    if (request.type !== 'start-fake') throw new Error(`the fake peer does not do ${request.type}`);
    fake = await startFakeAnthropic({
      apiKey: request.apiKey,
      deltaDelayMs: request.deltaDelayMs,
      respond: (body) => textReply(answerOf(requestedDeltas(body)), { input_tokens: 20, output_tokens: requestedDeltas(body) }),
    });
    // The fake records every request; this one answers hundreds and needs none of them.
    setInterval(() => fake?.reset(), 1_000).unref();
    return { url: fake.url };
  });
}

function runClientsPeer(): void {
  let clients: Client[] = [];
  servePeer(async (request) => {
    switch (request.type) {
      case 'first-tokens':
        return measureFirstTokens(request.job);
      case 'connect':
        clients = await Promise.all(Array.from({ length: request.clients }, () => connectClient(request.target)));
        return clients.length;
      case 'ask-all':
        return askAll(clients, request.deltas);
      case 'disconnect':
        await Promise.allSettled(clients.map((client) => client.close()));
        clients = [];
        return 0;
      default:
        throw new Error(`the clients peer does not do ${request.type}`);
    }
  });
}

/** A peer process and a typed request channel to it. */
export interface Peer {
  request<T>(request: PeerRequest, timeoutMs: number): Promise<T>;
  close(): Promise<void>;
}

/** Starts this file in a child process in `role`; requests time out so that the bench always ends. */
export function forkPeer(role: PeerRole): Peer {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [role], {
    execArgv: ['--import', import.meta.resolve('tsx')],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let next = 0;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  child.on('message', (message: { id: number; result?: unknown; error?: string }) => {
    const waiting = pending.get(message.id);
    pending.delete(message.id);
    if (message.error !== undefined) waiting?.reject(new Error(`${role}: ${message.error}`));
    else waiting?.resolve(message.result);
  });
  child.once('exit', (code, signal) => {
    for (const waiting of pending.values()) waiting.reject(new Error(`${role} exited (${signal ?? code}) before answering`));
    pending.clear();
  });
  return {
    request: <T>(request: PeerRequest, timeoutMs: number) =>
      new Promise<T>((resolve, reject) => {
        const id = (next += 1);
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${role}: no answer to ${request.type} within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, {
          resolve: (value) => {
            clearTimeout(timer);
            resolve(value as T);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        });
        child.send({ id, request });
      }),
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
  };
}

const role = process.argv[2];
if (process.send && role === ('bots-bench-fake' satisfies PeerRole)) runFakePeer();
if (process.send && role === ('bots-bench-clients' satisfies PeerRole)) runClientsPeer();
