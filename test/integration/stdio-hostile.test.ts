import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ToolCallOutcome } from '../../src/servers/index.ts';
import { createStdioSource, type StdioSource, type StdioSourceOptions } from '../../src/servers/stdio/index.ts';
import { captureLog } from '../support/captured-log.ts';
import { pollUntil } from '../support/gateway-process.ts';
import { hostileStdioCommand, killMarked, processesMarked } from '../support/stdio-processes.ts';
import { resultOf } from '../support/tool-outcome.ts';

const context = () => ({ signal: new AbortController().signal, progress: async () => undefined });

function text(outcome: ToolCallOutcome): string {
  return resultOf(outcome).content.map((part) => (part.type === 'text' ? part.text : '')).join('');
}

interface Whoami {
  pid: number;
  helperPid?: number;
}

describe('stdio source over a hostile process', () => {
  let home: string;
  const sources: StdioSource[] = [];
  const markers: string[] = [];

  /** A source running the hostile server with `behaviours`; its processes carry the returned marker. */
  function open(behaviours: string[], options: Partial<StdioSourceOptions> = {}) {
    const { command, args, marker } = hostileStdioCommand(...behaviours);
    markers.push(marker);
    const source = createStdioSource({ command, args, env: { HOME: home }, cwd: home, name: 'hostile', ...options });
    sources.push(source);
    return { source, marker };
  }

  const noneLeft = (marker: string) => pollUntil('no process of the server left', async () => ((await processesMarked(marker)).length === 0 ? true : undefined));

  async function whoami(source: StdioSource): Promise<Whoami> {
    return JSON.parse(text(await source.callTool('whoami', {}, context()))) as Whoami;
  }

  beforeAll(async () => {
    home = await fs.mkdtemp(path.join(os.tmpdir(), 'botgate-stdio-hostile-'));
  });

  afterEach(async () => {
    await Promise.all(sources.splice(0).map((source) => source.close()));
    for (const marker of markers.splice(0)) await killMarked(marker);
  });

  afterAll(async () => {
    await fs.rm(home, { recursive: true, force: true });
  });

  it('fails every call in flight when the process dies while a helper of its holds its output, and serves the next call from a new one', async () => {
    // No call timeout to fall back on: each call must learn of the exit itself.
    const { source, marker } = open(['helper'], { timeoutMs: 600_000, backoffInitialMs: 50 });
    const before = await whoami(source);
    expect(before.helperPid).toBeDefined();

    const hanging = Array.from({ length: 12 }, () => source.callTool('hang', {}, context()));
    const crashing = source.callTool('crash', { afterMs: 200 }, context());
    const results = await Promise.all([...hanging, crashing]);
    for (const result of results) {
      expect(result).toMatchObject({ isError: true });
      expect(text(result)).toBe('upstream hostile unavailable: it exited unexpectedly');
    }

    const answer = await pollUntil('a new process', async () => {
      const result = await source.callTool('echo', { message: 'back' }, context());
      return result.isError ? undefined : result;
    });
    expect(text(answer)).toBe('echo: back');
    const after = await whoami(source);
    expect(after.pid).not.toBe(before.pid);
    // The dead process's helper went with it; the new process and its helper run.
    expect((await processesMarked(marker)).sort((x, y) => x - y)).toEqual([after.pid, after.helperPid ?? 0].sort((x, y) => x - y));
  });

  it('leaves no process behind when closed, though the process and its helpers ignore SIGTERM and the end of their input', async () => {
    const { source, marker } = open(['ignore-term', 'helper']);
    const { pid, helperPid } = await whoami(source);
    expect(await processesMarked(marker)).toEqual(expect.arrayContaining([pid, helperPid]));

    await source.close();
    // The version probe's sibling and its helper too.
    await noneLeft(marker);
  });

  it('leaves no process behind when it ends an idle process with helpers', async () => {
    const { source, marker } = open(['ignore-term', 'helper'], { idleMs: 200 });
    expect(text(await source.callTool('echo', { message: 'once' }, context()))).toBe('echo: once');

    await noneLeft(marker);
    expect(source.pid()).toBeUndefined();
    expect(text(await source.callTool('echo', { message: 'again' }, context()))).toBe('echo: again');
  });

  it('ends a process that asks without end while reading none of the answers, failing its call, and serves the next call from a new one', async () => {
    const limit = 1024 * 1024;
    const { source } = open([], { maxMessageBytes: limit, backoffInitialMs: 50, timeoutMs: 15_000 });
    const { pid } = await whoami(source);

    const flooded = await source.callTool('flood_requests', {}, context());
    expect(flooded).toMatchObject({ isError: true });
    expect(text(flooded)).toBe(`upstream hostile unavailable: it stopped reading its input (more than ${limit} bytes or 10000 messages left unread)`);

    const answer = await pollUntil('a new process', async () => {
      const result = await source.callTool('echo', { message: 'after' }, context());
      return result.isError ? undefined : result;
    });
    expect(text(answer)).toBe('echo: after');
    expect((await whoami(source)).pid).not.toBe(pid);
  });

  it('reads many small messages arriving at once, together past the limit for one', async () => {
    const { source } = open([], { maxMessageBytes: 4 * 1024 });
    const { pid } = await whoami(source);
    expect(text(await source.callTool('chatty', { count: 100 }, context()))).toBe('sent 100');
    expect((await whoami(source)).pid).toBe(pid);
  });

  it('gives a call a clear error when the process never answers initialize, and ends it', async () => {
    const { source, marker } = open(['silent'], { connectTimeoutMs: 1_000, timeoutMs: 600_000, backoffInitialMs: 60_000 });
    const result = await source.callTool('echo', { message: 'x' }, context());
    expect(result).toMatchObject({ isError: true });
    expect(text(result)).toBe('upstream hostile unavailable: it did not answer within 1000 ms of starting');
    await noneLeft(marker);
    // Until it is tried again, calls are told what happened, not that it crashed.
    const meanwhile = await source.callTool('echo', { message: 'x' }, context());
    expect(text(meanwhile)).toMatch(/^upstream hostile unavailable: it failed to start and is restarted in \d+(\.\d)? s; try again then$/);
  });

  it('serves a server that exits on any request before initialize: the version probe spends a sibling process, not the server', async () => {
    const { source } = open(['strict']);
    expect(text(await source.callTool('echo', { message: 'strict' }, context()))).toBe('echo: strict');
  });

  it('answers through lines that are not JSON, not JSON-RPC or answers to unknown requests, and refuses the process’s own requests', async () => {
    const { source } = open(['garbage']);
    expect(text(await source.callTool('echo', { message: 'through the noise' }, context()))).toBe('echo: through the noise');

    // Sampling, elicitation and roots are not asked of anyone on a stdio server's behalf.
    const asked = JSON.parse(text(await source.callTool('ask', {}, context()))) as Array<{ code?: number }>;
    expect(asked.map((answer) => answer.code)).toEqual([-32601, -32601, -32601]);
    expect(text(await source.callTool('echo', { message: 'still here' }, context()))).toBe('echo: still here');
  });

  it('logs a flood of stderr within its budget, cutting an endless line', async () => {
    const { logger, entries } = captureLog();
    const { source } = open([], { logger });
    expect(text(await source.callTool('flood_stderr', { lines: 5_000 }, context()))).toBe('flooded');
    expect(text(await source.callTool('echo', { message: 'after the flood' }, context()))).toBe('echo: after the flood');

    const logged = entries.filter((entry) => entry['msg'] === 'stdio server stderr');
    expect(logged.length).toBeLessThanOrEqual(120);
    for (const entry of logged) expect(String(entry['stderr']).length).toBeLessThanOrEqual(1_000);
    // The drop is said once, when it starts, not only with the next minute's first line.
    expect(entries.filter((entry) => String(entry['msg']).startsWith('stdio server stderr over the log budget'))).toHaveLength(1);
  });
});
