import { EventEmitter } from 'node:events';

/**
 * What the gateway's direct answers use of a `ServerResponse`, recording what
 * is written as a client would read it; `full` makes writes report a full buffer.
 */
export class RecordingResponse extends EventEmitter {
  head: [number, Record<string, string | number>] | undefined;
  chunks: string[] = [];
  writableEnded = false;
  destroyed = false;
  full = false;
  writeHead(status: number, headers: Record<string, string | number>) {
    this.head = [status, headers];
    return this;
  }
  write(chunk: string) {
    this.chunks.push(chunk);
    return !this.full;
  }
  end(chunk?: string) {
    if (chunk !== undefined) this.chunks.push(chunk);
    this.writableEnded = true;
    return this;
  }
  /** The body as one JSON value. */
  json(): unknown {
    return JSON.parse(this.chunks.join('')) as unknown;
  }
}
