import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUnifiedDiff } from '../../src/servers/filesystem/diff.ts';

const run = promisify(execFile);
const hasTool = (name: string) => ['/usr/bin', '/bin', '/usr/local/bin'].some((dir) => existsSync(path.join(dir, name)));

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'botgate-fs-diff-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const lines = (count: number, last = '') => Array.from({ length: count }, (_, i) => `line ${i + 1}`).join('\n') + last;

const CASES: [string, string, string][] = [
  ['a final newline added', 'a\nb\nc', 'a\nb\nc\n'],
  ['a final newline removed', 'a\nb\nc\n', 'a\nb\nc'],
  ['a last line changed, without a final newline on either side', 'a\nb\nc', 'a\nb\nC'],
  ['a first line changed in a file without a final newline', 'a\nb\nc', 'A\nb\nc'],
  ['a line added after a last line without a newline', 'a\nb', 'a\nb\nc\n'],
  ['a change far from the end of a long file without a final newline', lines(30), lines(30).replace('line 3\n', 'line three\n')],
  ['two changes, one at each end', lines(30, '\n'), lines(30).replace('line 1\n', 'first\n')],
  ['CRLF lines changed', 'a\r\nb\r\nc\r\n', 'a\r\nB\r\nc\r\n'],
  ['everything removed', 'a\nb', ''],
  ['a file created', '', 'a\nb'],
];

describe.skipIf(!hasTool('patch'))('createUnifiedDiff as input to patch(1)', () => {
  it.each(CASES)('turns the old file into the new one: %s', async (name, before, after) => {
    const file = path.join(dir, `${name.replace(/\W+/g, '-')}.txt`);
    const patched = `${file}.patched`;
    await writeFile(file, before);
    await writeFile(`${file}.diff`, createUnifiedDiff(file, before, after));
    await run('patch', ['--quiet', '--force', '-o', patched, file, `${file}.diff`]);
    expect(await readFile(patched, 'utf8')).toBe(after);
  });
});

describe.skipIf(!hasTool('diff'))('createUnifiedDiff against diff -u', () => {
  it.each(CASES.slice(0, 5))('prints the same hunks as diff(1): %s', async (name, before, after) => {
    const [a, b] = [path.join(dir, 'a.txt'), path.join(dir, 'b.txt')];
    await writeFile(a, before);
    await writeFile(b, after);
    // diff exits with 1 when the files differ.
    const expected = await run('diff', ['-u', a, b]).then(
      (result) => result.stdout,
      (error: { stdout: string }) => error.stdout,
    );
    const hunks = (diff: string) => diff.split('\n').slice(2).join('\n');
    expect(hunks(createUnifiedDiff('f', before, after))).toBe(hunks(expected));
  });
});
