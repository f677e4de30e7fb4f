import { createReadStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ContentBlock } from '@modelcontextprotocol/server';
import { ToolError } from '../tool-source.ts';
import { formatSize } from './file-io.ts';

/** Extensions whose content is binary whatever its first bytes are. SVG is absent on purpose: it is text. */
const BINARY_MIME_TYPES: Readonly<Record<string, string>> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.bmp': 'image/bmp',
  '.ico': 'image/x-icon',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.mp3': 'audio/mpeg',
  '.wav': 'audio/wav',
  '.ogg': 'audio/ogg',
  '.flac': 'audio/flac',
  '.m4a': 'audio/mp4',
  '.aac': 'audio/aac',
  '.opus': 'audio/opus',
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
  '.pdf': 'application/pdf',
  '.zip': 'application/zip',
  '.gz': 'application/gzip',
  '.tar': 'application/x-tar',
  '.wasm': 'application/wasm',
};

/** Bytes looked at for a NUL when deciding whether a file is binary (what git does). */
const SNIFF_BYTES = 8192;
const CHUNK_BYTES = 64 * 1024;

export interface FileFacts {
  size: number;
  /** Binary by extension or because its first bytes contain a NUL. */
  binary: boolean;
  mimeType: string;
}

/** Size and kind of a regular file; a directory is refused with a pointer to the listing tools. */
export async function inspectFile(realPath: string): Promise<FileFacts> {
  const stats = await stat(realPath);
  if (stats.isDirectory()) {
    throw new ToolError(`${realPath} is a directory; use list_directory or directory_tree to see its contents.`);
  }
  if (!stats.isFile()) throw new ToolError(`${realPath} is not a regular file.`);
  const byExtension = BINARY_MIME_TYPES[path.extname(realPath).toLowerCase()];
  if (byExtension) return { size: stats.size, binary: true, mimeType: byExtension };
  const handle = await open(realPath, 'r');
  try {
    const sample = Buffer.alloc(Math.min(SNIFF_BYTES, stats.size));
    const { bytesRead } = await handle.read(sample, 0, sample.length, 0);
    const binary = sample.subarray(0, bytesRead).includes(0);
    return { size: stats.size, binary, mimeType: binary ? 'application/octet-stream' : 'text/plain' };
  } finally {
    await handle.close();
  }
}

/** Refuses a whole-file read over the limit, pointing at the partial reads that would work. */
export function checkWholeReadSize(realPath: string, facts: FileFacts, maxBytes: number): void {
  if (facts.size <= maxBytes) return;
  const hint = facts.binary
    ? 'Binary files cannot be read in parts.'
    : 'Read part of it with start_line/end_line, head or tail.';
  throw new ToolError(
    `${realPath} is ${formatSize(facts.size)}, over the ${formatSize(maxBytes)} limit for one read. ${hint}`,
  );
}

export function readText(realPath: string, signal: AbortSignal): Promise<string> {
  return readFile(realPath, { encoding: 'utf8', signal });
}

/** The file as one MCP content block: `image`, `audio`, or an embedded `resource` with a base64 blob. */
export async function readMedia(realPath: string, shownPath: string, facts: FileFacts, signal: AbortSignal): Promise<ContentBlock> {
  const data = (await readFile(realPath, { signal })).toString('base64');
  const { mimeType } = facts;
  if (mimeType.startsWith('image/')) return { type: 'image', data, mimeType };
  if (mimeType.startsWith('audio/')) return { type: 'audio', data, mimeType };
  return { type: 'resource', resource: { uri: pathToFileURL(shownPath).href, mimeType, blob: data } };
}

function tooManyLines(maxBytes: number): ToolError {
  return new ToolError(`The requested lines are more than ${formatSize(maxBytes)}; request fewer lines.`);
}

/**
 * Lines `start` to `end` (1-based, inclusive) without loading the rest of the
 * file: lines before `start` are skipped unbuffered and reading stops after
 * `end`, so a huge file or a huge line outside the range costs no memory.
 */
export async function readLines(
  realPath: string,
  range: { start: number; end: number },
  maxBytes: number,
  signal: AbortSignal,
): Promise<string> {
  const parts: Buffer[] = [];
  let total = 0;
  let line = 1;
  let endsWithNewline = true;
  const finish = (): string =>
    Buffer.concat(parts)
      .toString('utf8')
      .replace(/\r?\n$/, '');
  const stream = createReadStream(realPath, { signal, highWaterMark: CHUNK_BYTES });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let from = 0;
    while (from < chunk.length) {
      const newline = chunk.indexOf(0x0a, from);
      const stop = newline === -1 ? chunk.length : newline + 1;
      if (line >= range.start) {
        total += stop - from;
        if (total > maxBytes) throw tooManyLines(maxBytes);
        parts.push(chunk.subarray(from, stop));
      }
      from = stop;
      if (newline !== -1) {
        line++;
        if (line > range.end) return finish();
      }
    }
    endsWithNewline = chunk[chunk.length - 1] === 0x0a;
  }
  const lineCount = endsWithNewline ? line - 1 : line;
  if (range.start > lineCount && range.start > 1) {
    throw new ToolError(`start_line ${range.start} is past the end of ${realPath}, which has ${lineCount} lines.`);
  }
  return finish();
}

/** The last `count` lines, read backwards from the end so only they are loaded. */
export async function readTail(
  realPath: string,
  count: number,
  maxBytes: number,
  signal: AbortSignal,
): Promise<string> {
  const handle = await open(realPath, 'r');
  try {
    const { size } = await handle.stat();
    const chunks: Buffer[] = [];
    let position = size;
    let newlines = 0;
    let collected = 0;
    let trailing = -1;
    while (position > 0 && newlines < count) {
      signal.throwIfAborted();
      const length = Math.min(CHUNK_BYTES, position);
      position -= length;
      const chunk = Buffer.alloc(length);
      await handle.read(chunk, 0, length, position);
      chunks.unshift(chunk);
      collected += length;
      if (trailing === -1) trailing = chunk[length - 1] === 0x0a ? 1 : 0;
      // The file's final newline ends its last line rather than starting another.
      const scanEnd = position + length === size ? length - trailing : length;
      for (let i = 0; i < scanEnd; i++) if (chunk[i] === 0x0a) newlines++;
      if (newlines < count && collected - Math.max(trailing, 0) > maxBytes) throw tooManyLines(maxBytes);
    }
    const text = Buffer.concat(chunks).subarray(0, collected - Math.max(trailing, 0));
    let cut = text.length;
    for (let seen = 0; cut > 0; cut--) {
      if (text[cut - 1] === 0x0a && ++seen === count) break;
    }
    const tail = text.subarray(cut);
    if (tail.length > maxBytes) throw tooManyLines(maxBytes);
    return tail.toString('utf8').replace(/\r$/, '');
  } finally {
    await handle.close();
  }
}
