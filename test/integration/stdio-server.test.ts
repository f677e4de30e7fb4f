import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createStdioSource, type StdioSource, type StdioSourceOptions } from '../../src/servers/stdio/index.ts';
import { captureLog } from '../support/captured-log.ts';
import { pollUntil } from '../support/gateway-process.ts';
import { unavailableResult, type ToolCallOutcome } from '../../src/servers/index.ts';
import { resultOf } from '../support/tool-outcome.ts';

// Its default transport is stdio: `node dist/index.js` with no argument.
const EVERYTHING = path.resolve(import.meta.dirname, '../../node_modules/@modelcontextprotocol/server-everything/dist/index.js');

// Set in this process before any child starts: none may reach a child.
const GATEWAY_SECRETS = {
  BOTGATE_SECRET_KEY: 'stdio-test-secret-key-0123456789abcdef',
  DATABASE_URL: 'postgres://gateway:stdio-test-db-password@127.0.0.1:5432/botgate',
  ANTHROPIC_API_KEY: 'sk-ant-stdio-test-key',
};

const context = () => ({ signal: new AbortController().signal, progress: async () => undefined });
const signal = new AbortController().signal;

function text(outcome: ToolCallOutcome): string {
  return resultOf(outcome).content.map((part) => (part.type === 'text' ? part.text : '')).join('');
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('stdio source running server-everything', () => {
  let home: string;
  const sources: StdioSource[] = [];
  const saved: Record<string, string | undefined> = {};

  function open(options: Partial<StdioSourceOptions> = {}): StdioSource {
    const source = createStdioSource({ command: process.execPath, args: [EVERYTHING], env: { HOME: home }, cwd: home, ...options });
    sources.push(source);
    return source;
  }

  /** Waits until the source runs a child, and returns its pid. */
  const runningPid = (source: StdioSource) => pollUntil('a running child', async () => source.pid());

  beforeAll(async () => {
    home = await fs.mkdtemp(path.join(os.tmpdir(), 'botgate-stdio-'));
    for (const [name, value] of Object.entries(GATEWAY_SECRETS)) {
      saved[name] = process.env[name];
      process.env[name] = value;
    }
  });

  afterEach(async () => {
    const pids = sources.map((source) => source.pid()).filter((pid) => pid !== undefined);
    await Promise.all(sources.splice(0).map((source) => source.close()));
    for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  });

  afterAll(async () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await fs.rm(home, { recursive: true, force: true });
  });

  it('starts the child on first use, lists its tools and calls echo', async () => {
    const source = open();
    expect(source.pid()).toBeUndefined();

    const tools = await source.listTools(signal);
    expect(tools.map((tool) => tool.name)).toEqual(expect.arrayContaining(['echo', 'get-env', 'get-sum']));
    expect(await source.callTool('echo', { message: 'hello over stdio' }, context())).toEqual({
      content: [{ type: 'text', text: 'Echo: hello over stdio' }],
    });
    expect(await source.callTool('get-sum', { a: 2, b: 40 }, context())).toMatchObject({ content: [{ text: expect.stringContaining('42') }] });
    expect((await source.listPrompts(signal)).length).toBeGreaterThan(0);
    expect((await source.listResources(signal)).length).toBeGreaterThan(0);
  });

  it('gives the child none of the gateway’s environment beyond the allow-list', async () => {
    const result = await open().callTool('get-env', {}, context());
    expect(result.isError).toBeFalsy();
    const env = JSON.parse(text(result)) as Record<string, string>;

    for (const name of Object.keys(GATEWAY_SECRETS)) expect(env).not.toHaveProperty(name);
    for (const value of Object.values(GATEWAY_SECRETS)) expect(text(result)).not.toContain(value);
    expect(Object.keys(env).every((name) => ['HOME', 'LOGNAME', 'PATH', 'SHELL', 'TERM', 'USER'].includes(name))).toBe(true);
    expect(env['HOME']).toBe(home);
  });

  it('runs one child per source, however many calls start it at once', async () => {
    const { logger, entries } = captureLog();
    const source = open({ logger });
    const results = await Promise.all(Array.from({ length: 5 }, (_, i) => source.callTool('echo', { message: `m${i}` }, context())));
    expect(results.map(text)).toEqual(['Echo: m0', 'Echo: m1', 'Echo: m2', 'Echo: m3', 'Echo: m4']);
    expect(entries.filter((entry) => entry['msg'] === 'stdio server started')).toHaveLength(1);

    const other = open();
    await other.listTools(signal);
    expect(other.pid()).not.toBe(source.pid());
  });

  it('logs the child’s stderr, naming the child', async () => {
    const { logger, entries } = captureLog();
    const source = open({ logger });
    await source.listTools(signal);
    const pid = source.pid();
    const line = await pollUntil('the stderr line', async () =>
      entries.find((entry) => entry['msg'] === 'stdio server stderr' && String(entry['stderr']).includes('Starting default (STDIO) server')),
    );
    expect(line['pid']).toBe(pid);
  });

  it('fails the call in flight when the child dies, then restarts it after the backoff', async () => {
    const source = open();
    await source.listTools(signal);
    const pid = await runningPid(source);

    const inFlight = source.callTool('trigger-long-running-operation', { duration: 30, steps: 30 }, context());
    process.kill(pid, 'SIGKILL');
    const failed = await inFlight;
    expect(failed.isError).toBe(true);
    expect(text(failed)).toMatch(/^upstream node unavailable: /);

    // Until the backoff ends calls fail at once with the reason; then a new child answers.
    const failures: string[] = [];
    const answer = await pollUntil('a restarted child', async () => {
      const result = await source.callTool('echo', { message: 'back' }, context());
      if (!result.isError) return result;
      failures.push(text(result));
      return undefined;
    });
    expect(text(answer)).toBe('Echo: back');
    for (const failure of failures) expect(failure).toMatch(/^upstream node unavailable: /);
    expect(source.pid()).not.toBe(pid);
    expect(isAlive(pid)).toBe(false);
  });

  it('ends a child that sends a message over the operator’s limit, failing that call, and serves the next call from a new child', async () => {
    const source = open({ maxMessageBytes: 64 * 1024, backoffInitialMs: 50 });
    expect(text(await source.callTool('echo', { message: 'small' }, context()))).toBe('Echo: small');
    const pid = await runningPid(source);

    const tooLarge = await source.callTool('echo', { message: 'x'.repeat(100_000) }, context());
    expect(tooLarge.isError).toBe(true);
    expect(text(tooLarge)).toBe(
      'upstream node gave an unusable answer: it sent a message of more than 65536 bytes, the limit for one message (BOTGATE_UPSTREAM_MESSAGE_LIMIT)',
    );

    const answer = await pollUntil('a new child', async () => {
      const result = await source.callTool('echo', { message: 'after' }, context());
      return result.isError ? undefined : result;
    });
    expect(text(answer)).toBe('Echo: after');
    expect(source.pid()).not.toBe(pid);
  });

  it('fails fast while backing off, without starting a child', async () => {
    const { logger, entries } = captureLog();
    // A first delay past the cap waits the cap: 30 s, far longer than this test.
    const source = open({ logger, backoffInitialMs: 60_000 });
    await source.listTools(signal);
    process.kill(await runningPid(source), 'SIGKILL');

    const refused = await pollUntil('the backoff refusal', async () => {
      const result = await source.callTool('echo', { message: 'x' }, context());
      return text(result).includes('restarted in') ? result : undefined;
    });
    expect(refused).toMatchObject({ isError: true });
    expect(text(refused)).toMatch(/^upstream node unavailable: it exited unexpectedly and is restarted in \d+(\.\d)? s; try again then$/);
    await expect(source.listTools(signal)).rejects.toThrow(/restarted in/);
    expect(source.pid()).toBeUndefined();
    expect(entries.filter((entry) => entry['msg'] === 'stdio server started')).toHaveLength(1);
    expect(entries.find((entry) => entry['msg'] === 'stdio server exited unexpectedly')).toMatchObject({ restartInMs: 30_000 });
  });

  it('ends an idle child, and starts a new one on the next call', async () => {
    const source = open({ idleMs: 100 });
    await source.callTool('echo', { message: 'once' }, context());
    const pid = await runningPid(source);

    await pollUntil('the idle child to exit', async () => (isAlive(pid) ? undefined : true));
    expect(source.pid()).toBeUndefined();

    expect(text(await source.callTool('echo', { message: 'again' }, context()))).toBe('Echo: again');
    expect(source.pid()).not.toBe(pid);
  });

  it('keeps a child busy with a call past the idle time', async () => {
    const source = open({ idleMs: 100 });
    await source.listTools(signal);
    const pid = await runningPid(source);
    const result = await source.callTool('trigger-long-running-operation', { duration: 1, steps: 2 }, context());
    expect(result.isError).toBeFalsy();
    expect(text(result)).toContain('completed');
    expect(source.pid()).toBe(pid);
  });

  describe('watching a resource', () => {
    const DOCUMENT = 'demo://resource/static/document/architecture.md';

    /** A listener recording the URIs it is told of, and whether it was told the watch ended. */
    function recorder() {
      const updates: string[] = [];
      let endings = 0;
      return {
        updates,
        get endings() {
          return endings;
        },
        updated: ({ uri }: { uri: string }) => void updates.push(uri),
        ended: () => void (endings += 1),
      };
    }

    it('starts the child to subscribe, relays its updates, and keeps it past the idle time while watched', async () => {
      const source = open({ idleMs: 100 });
      const listener = recorder();
      const stop = source.watchResource(DOCUMENT, listener);
      const pid = await runningPid(source);
      expect(source.inUse()).toBe(true);

      // server-everything then sends an update of every subscribed resource at once, and every 5 s.
      expect(text(await source.callTool('toggle-subscriber-updates', {}, context()))).toContain('Started');
      await pollUntil('an update', async () => (listener.updates.length > 0 ? true : undefined));
      expect(listener.updates[0]).toBe(DOCUMENT);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(source.pid()).toBe(pid);

      // The last watch gone, the child is idle and ends (updates off first, so that it exits as soon as it is asked to).
      expect(text(await source.callTool('toggle-subscriber-updates', {}, context()))).toContain('Stopped');
      stop();
      await pollUntil('the idle child to exit', async () => (isAlive(pid) ? undefined : true));
      // Its pool may let it go now: nothing runs (a running child keeps it in use, so that a change to its server ends it).
      expect(source.inUse()).toBe(false);
    }, 60_000);

    it('restarts a crashed child for its watches, and tells them it ended when the source closes', async () => {
      const source = open({ backoffInitialMs: 50 });
      const listener = recorder();
      source.watchResource(DOCUMENT, listener);
      const pid = await runningPid(source);
      process.kill(pid, 'SIGKILL');
      // No call comes: the watch alone brings a new child up.
      const restarted = await pollUntil('a restarted child', async () => {
        const now = source.pid();
        return now !== undefined && now !== pid ? now : undefined;
      });
      expect(isAlive(restarted)).toBe(true);

      await source.close();
      expect(listener.endings).toBe(1);
    });
  });

  it('ends the child on close, and refuses calls afterwards', async () => {
    const source = open();
    await source.listTools(signal);
    const pid = await runningPid(source);

    await source.close();
    await pollUntil('the closed child to exit', async () => (isAlive(pid) ? undefined : true));
    expect(source.pid()).toBeUndefined();
    const after = await source.callTool('echo', { message: 'x' }, context());
    expect(after).toEqual(unavailableResult('upstream node unavailable: the source was closed'));
  });

  it('reports a command that dies at startup without showing the tenant its command line', async () => {
    const { logger, entries } = captureLog();
    const source = open({ args: ['-e', 'process.stderr.write("boom: bad config\\n"); process.exit(3)'], name: 'broken', logger });
    const result = await source.callTool('echo', { message: 'x' }, context());
    expect(result).toEqual(unavailableResult('upstream broken unavailable: it failed to start'));
    expect(text(result)).not.toContain(process.execPath);

    const retry = await source.callTool('echo', { message: 'x' }, context());
    expect(text(retry)).toMatch(/restarted in|failed to start/);
    const logged = await pollUntil('the startup failure in the log', async () =>
      entries.find((entry) => entry['msg'] === 'stdio server failed to start'),
    );
    expect(logged).toMatchObject({ restartInMs: 500 });
  });
});
