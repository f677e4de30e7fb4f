import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/shared/logger.ts';

/** What a captured logger wrote: each write as it came, and each line parsed. */
export interface CapturedLog {
  logger: Logger;
  lines: string[];
  entries: Array<Record<string, unknown>>;
}

/** The gateway's logger at `info`, writing where the test can read it. */
export function captureLog(): CapturedLog {
  const lines: string[] = [];
  const entries: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const text = chunk.toString('utf8');
      lines.push(text);
      for (const line of text.split('\n')) if (line) entries.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger({ level: 'info', destination }), lines, entries };
}
