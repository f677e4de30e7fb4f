import { Writable } from 'node:stream';

/** Where the CLI writes text: the process's stdout or stderr, or a caller's buffer. */
export interface TextSink {
  write(text: string): unknown;
}

/**
 * What the CLI reads and writes besides the database: the process's own in
 * `bin/botgate.js`, a caller's when it runs the CLI in its own process (as
 * tests do), so that one run leaves nothing behind for the next.
 */
export interface CliIo {
  readonly stdout: TextSink;
  readonly stderr: TextSink;
  /** Read for --password-stdin and --anthropic-key-stdin only. */
  readonly stdin: AsyncIterable<Uint8Array | string>;
  /** Parsed into the config by `loadConfig`; nothing else reads it. */
  readonly env: NodeJS.ProcessEnv;
}

/** `sink` as the stream a logger takes: process.stderr as it is, a caller's sink handed each line as it comes. */
export function streamTo(sink: TextSink): NodeJS.WritableStream {
  if (sink instanceof Writable) return sink;
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      sink.write(chunk.toString('utf8'));
      done();
    },
  });
}
