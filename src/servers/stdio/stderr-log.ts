import type { Readable } from 'node:stream';
import type { Logger } from '../../shared/logger.ts';

/** Longest stderr line kept; the rest of a longer line is dropped. */
const MAX_LINE = 1_000;
/** Lines kept for the report of a process that exited unexpectedly. */
const TAIL_LINES = 20;
/** Lines logged per minute; a chatty or hostile server cannot flood the gateway's log. */
const LINES_PER_MINUTE = 120;

/** A child's stderr, logged line by line within bounds, with its last lines kept. */
export interface StderrLog {
  /** Reads a child's stderr until it ends; `pid` names the child in log entries once it runs. */
  follow(stream: Readable, pid: () => number | undefined): void;
  /** The last lines read, oldest first. */
  tail(): string[];
}

/**
 * Logs a stdio server's stderr at `info`, one line per entry, cutting long
 * lines and dropping lines past a per-minute budget (the first drop of a
 * minute is logged, and the count with the next minute's first line). Memory
 * stays bounded whatever the child writes.
 */
export function createStderrLog(logger: Logger): StderrLog {
  const recent: string[] = [];
  let windowStart = 0;
  let logged = 0;
  let dropped = 0;

  function emit(line: string, pid: number | undefined): void {
    recent.push(line);
    if (recent.length > TAIL_LINES) recent.shift();
    const now = Date.now();
    if (now - windowStart >= 60_000) {
      if (dropped > 0) logger.warn({ pid, dropped }, 'stdio server stderr lines dropped over the log budget');
      windowStart = now;
      logged = 0;
      dropped = 0;
    }
    if (logged < LINES_PER_MINUTE) {
      logged++;
      logger.info({ pid, stderr: line }, 'stdio server stderr');
    } else {
      // Said at once, so that a burst that then stops is not left unexplained until the next line.
      if (dropped === 0) logger.warn({ pid, perMinute: LINES_PER_MINUTE }, 'stdio server stderr over the log budget: dropping lines until the minute is up');
      dropped++;
    }
  }

  return {
    follow(stream, pid) {
      let partial = '';
      let overlong = false;
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          if (!overlong) emit(line.replace(/\r$/, '').slice(0, MAX_LINE), pid());
          overlong = false;
        }
        if (partial.length > MAX_LINE) {
          // Emit the start of an endless line now and skip the rest of it.
          if (!overlong) emit(partial.slice(0, MAX_LINE), pid());
          overlong = true;
          partial = '';
        }
      });
      stream.on('end', () => {
        if (partial && !overlong) emit(partial.slice(0, MAX_LINE), pid());
      });
      stream.on('error', () => undefined);
    },

    tail: () => [...recent],
  };
}
