import { spawn, type ChildProcess } from 'node:child_process';
import { PassThrough, type Readable } from 'node:stream';
import { deserializeMessage, SdkError, SdkErrorCode, serializeMessage, type JSONRPCMessage, type Transport } from '@modelcontextprotocol/client';
import { getDefaultEnvironment } from '@modelcontextprotocol/client/stdio';
import { MessageTooLargeError } from '../message-limit.ts';

/** How long a process is given after its input ends, then after SIGTERM, before harder measures. */
const GRACE_MS = 2_000;
/** How long the output of a process that exited is still read, for what it wrote last. */
const DRAIN_MS = 1_000;
/**
 * The most messages written to a process and not yet read by it. Calls in
 * flight come nowhere near; a process asking without end while reading
 * nothing (each answer waiting in memory) reaches it in moments.
 */
const MAX_UNREAD_MESSAGES = 10_000;
const LF = 0x0a;

/** What to run, in the shape of the SDK's stdio parameters (its version probe copies them; see `_serverParams`). */
export interface ProcessGroupParameters {
  command: string;
  args?: string[];
  /** Added to the SDK's inherited allow-list (HOME, LOGNAME, PATH, SHELL, TERM, USER), overriding it; nothing else is inherited. */
  env?: Record<string, string>;
  cwd?: string;
  /** `pipe` to read it from `stderr`; the probe's sibling asks for `ignore`. */
  stderr?: 'pipe' | 'ignore';
  /**
   * The most one line from the process may hold, and the most the gateway keeps
   * written to it and not yet read: past either, the process is ended.
   */
  maxBufferSize: number;
}

/** The process left too much of what the gateway wrote to it unread, and was ended for it. */
export class UnreadInputError extends Error {
  override readonly name = 'UnreadInputError';
  constructor(limit: number) {
    super(`it stopped reading its input (more than ${limit} bytes or ${MAX_UNREAD_MESSAGES} messages left unread)`);
  }
}

/**
 * The client side of MCP over stdio, like the SDK's `StdioClientTransport`
 * but owning the whole process group: the command runs as the leader of a
 * group of its own, and everything in the group is ended with it, so helpers
 * it started (a wrapper script's server, a browser) do not outlive it. Its
 * end is noticed when the command exits, even while a helper holds its
 * output open. A process that stops reading its input is ended rather than
 * buffered for without end.
 */
export class ProcessGroupTransport implements Transport {
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: ((message: JSONRPCMessage) => void) | undefined;

  private readonly params: ProcessGroupParameters;
  private child: ChildProcess | undefined;
  /** The start of a line not yet ended, and its length. */
  private partial: Buffer[] = [];
  private partialBytes = 0;
  private readonly stderrStream: PassThrough | null;
  /** The leader exited; the rest of the group was then killed. */
  private exited = false;
  /** The pipes are closed and the client was told. */
  private finished = false;
  /** Ended for what it wrote or left unread: nothing more it writes is read. */
  private refused = false;
  /** Messages written and not yet taken by the pipe. */
  private unread = 0;
  private readonly ended: Promise<void>;
  private markEnded!: () => void;

  constructor(params: ProcessGroupParameters) {
    this.params = params;
    this.stderrStream = params.stderr === 'pipe' ? new PassThrough() : null;
    this.ended = new Promise((resolve) => (this.markEnded = resolve));
  }

  /**
   * Read by the SDK client: a transport exposing its parameters and its own
   * `_dispose` gets the version probe on a sibling process built from them,
   * so that a server which exits on a request before `initialize` is not
   * spent on the probe.
   */
  get _serverParams(): ProcessGroupParameters {
    return this.params;
  }

  /** The process's stderr, available before `start` so that nothing it writes early is lost. */
  get stderr(): Readable | null {
    return this.stderrStream;
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  start(): Promise<void> {
    if (this.child) throw new Error('ProcessGroupTransport already started');
    const { params } = this;
    const child = spawn(params.command, params.args ?? [], {
      env: { ...getDefaultEnvironment(), ...params.env },
      ...(params.cwd !== undefined && { cwd: params.cwd }),
      stdio: ['pipe', 'pipe', this.stderrStream ? 'pipe' : 'ignore'],
      // A group of its own, ended as one; on Windows only the process itself can be ended.
      detached: process.platform !== 'win32',
      shell: false,
      windowsHide: true,
    });
    this.child = child;
    return new Promise((resolve, reject) => {
      child.once('spawn', resolve);
      child.on('error', (error) => {
        reject(error);
        this.onerror?.(error);
        // Never spawned: there is no exit to wait for.
        if (child.pid === undefined) this.finish();
      });
      child.once('exit', () => this.onExit(child));
      child.stdin?.on('error', (error) => this.onerror?.(error));
      child.stdout?.on('error', (error) => this.onerror?.(error));
      child.stdout?.on('data', (chunk: Buffer) => this.read(chunk));
      if (this.stderrStream) child.stderr?.pipe(this.stderrStream);
    });
  }

  send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.child?.stdin;
    if (!stdin || this.exited || !stdin.writable) return Promise.reject(new SdkError(SdkErrorCode.NotConnected, 'Not connected'));
    const limit = this.params.maxBufferSize;
    // What is still waiting for the process to read: a process that reads nothing while asking for answers is ended.
    if (stdin.writableLength > limit || this.unread >= MAX_UNREAD_MESSAGES) {
      this.refuse(new UnreadInputError(limit));
      return Promise.reject(new SdkError(SdkErrorCode.NotConnected, 'Not connected'));
    }
    this.unread++;
    return new Promise((resolve, reject) => {
      stdin.write(serializeMessage(message), (error) => {
        this.unread--;
        if (error) reject(error);
        else resolve();
      });
    });
  }

  /** Ends the process as planned: its input first, then SIGTERM, then SIGKILL, each to the whole group. */
  async close(): Promise<void> {
    if (this.child && !this.exited) {
      this.child.stdin?.end();
      if (!(await this.waitForExit(GRACE_MS))) await this.terminate();
    }
    await this.settle();
  }

  /**
   * Ends a version probe's sibling, as the SDK's transport does: signals first,
   * its answer being all that was wanted of it. Called by the SDK client only.
   */
  async _dispose(): Promise<void> {
    if (this.child && !this.exited) await this.terminate();
    await this.settle();
  }

  /** SIGTERM to the group, then SIGKILL if the leader lingers. */
  private async terminate(): Promise<void> {
    this.kill('SIGTERM');
    if (await this.waitForExit(GRACE_MS)) return;
    this.kill('SIGKILL');
    await this.waitForExit(GRACE_MS);
  }

  /** Waits for the end of a process that exited; one that never started, or will not die, ends here. */
  private async settle(): Promise<void> {
    if (!this.exited) this.finish();
    await this.ended;
  }

  /** Ends a process that broke a bound, telling the client why first. */
  private refuse(error: Error): void {
    if (this.refused) return;
    this.refused = true;
    this.partial = [];
    this.partialBytes = 0;
    this.onerror?.(error);
    this.kill('SIGKILL');
  }

  /**
   * Splits the output into lines, each a message. Only a line longer than the
   * limit ends the process, however many lines one read brings.
   */
  private read(chunk: Buffer): void {
    const limit = this.params.maxBufferSize;
    let start = 0;
    for (let end = chunk.indexOf(LF); end !== -1 && !this.refused; end = chunk.indexOf(LF, start)) {
      if (this.partialBytes + end - start > limit) break;
      const line = this.partial.length === 0 ? chunk.toString('utf8', start, end) : Buffer.concat([...this.partial, chunk.subarray(start, end)]).toString('utf8');
      this.partial = [];
      this.partialBytes = 0;
      start = end + 1;
      this.deliver(line);
    }
    if (this.refused) return;
    const rest = chunk.subarray(start);
    if (this.partialBytes + rest.length > limit) {
      // A line past the limit: nothing more of it is read.
      this.refuse(new MessageTooLargeError(limit));
      return;
    }
    if (rest.length > 0) {
      this.partial.push(rest);
      this.partialBytes += rest.length;
    }
  }

  /** Passes a line on as a message; one that is not JSON is skipped, as the SDK does, and JSON that is not JSON-RPC is reported. */
  private deliver(line: string): void {
    let message: JSONRPCMessage;
    try {
      message = deserializeMessage(line.replace(/\r$/, ''));
    } catch (error) {
      if (!(error instanceof SyntaxError)) this.onerror?.(error as Error);
      return;
    }
    this.onmessage?.(message);
  }

  /** The leader exited: the rest of its group goes too, and its output is read to its end, or for `DRAIN_MS` at most. */
  private onExit(child: ChildProcess): void {
    this.exited = true;
    this.kill('SIGKILL');
    // `close` comes once its pipes are closed: at once, unless something outside the group holds them.
    const timer = setTimeout(() => this.finish(), DRAIN_MS);
    child.once('close', () => {
      clearTimeout(timer);
      this.finish();
    });
  }

  /** Closes the pipes and tells the client, once. */
  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.child?.stdin?.destroy();
    this.child?.stdout?.destroy();
    this.child?.stderr?.destroy();
    // Ended here too when a helper outside the group held the pipe, so that its reader sees the end.
    if (this.stderrStream && !this.stderrStream.writableEnded) this.stderrStream.end();
    this.partial = [];
    this.markEnded();
    this.onclose?.();
  }

  /**
   * Signals the whole group (the leader's pid is its id), and the leader
   * itself in case it left the group; a group already gone is no error.
   */
  private kill(signal: NodeJS.Signals): void {
    const child = this.child;
    if (child?.pid === undefined) return;
    if (process.platform !== 'win32') {
      try {
        process.kill(-child.pid, signal);
      } catch {
        // ESRCH: nothing left in the group.
      }
    }
    if (!this.exited) child.kill(signal);
  }

  private waitForExit(ms: number): Promise<boolean> {
    if (this.exited) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.child?.once('exit', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}
