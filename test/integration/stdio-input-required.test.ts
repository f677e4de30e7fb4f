import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStdioSource, type StdioSource } from '../../src/servers/stdio/index.ts';
import type { ToolCallContext } from '../../src/servers/index.ts';
import { resultOf } from '../support/tool-outcome.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const ASKING_SERVER = path.join(ROOT, 'test/fakes/asking-stdio-server.ts');
const ELICITATION = { elicitation: { form: {} } };

const call = (extra: Partial<ToolCallContext> = {}): ToolCallContext => ({ signal: new AbortController().signal, progress: async () => undefined, ...extra });

describe('stdio source over a 2026-07-28 server that asks the client for input', () => {
  let home: string;
  let source: StdioSource;

  beforeAll(async () => {
    home = await fs.mkdtemp(path.join(os.tmpdir(), 'botgate-stdio-asking-'));
    // From the repository's root, where the child's `--import tsx` resolves.
    source = createStdioSource({ command: process.execPath, args: ['--import', 'tsx', ASKING_SERVER], env: { HOME: home }, cwd: ROOT });
  });

  afterAll(async () => {
    await source?.close();
    await fs.rm(home, { recursive: true, force: true });
  });

  it('passes the question back, then the answers and request state to the child', async () => {
    const asked = await source.callTool('delete-file', { path: '/srv/a.txt' }, call({ clientCapabilities: ELICITATION }));
    expect(asked).toEqual({
      resultType: 'input_required',
      inputRequests: {
        confirm: {
          method: 'elicitation/create',
          params: { mode: 'form', message: 'Delete /srv/a.txt?', requestedSchema: { type: 'object', properties: { sure: { type: 'boolean' } }, required: ['sure'] } },
        },
      },
      requestState: 'delete:/srv/a.txt',
    });
    const answered = await source.callTool(
      'delete-file',
      { path: '/srv/a.txt' },
      call({ clientCapabilities: ELICITATION, input: { responses: { confirm: { action: 'accept', content: { sure: true } } }, state: 'delete:/srv/a.txt' } }),
    );
    expect(resultOf(answered).content).toEqual([{ type: 'text', text: 'deleted /srv/a.txt' }]);
  });

  it('tells the child what the client cannot do: it does not ask, and the call reports why', async () => {
    const refused = resultOf(await source.callTool('delete-file', { path: '/srv/b.txt' }, call()));
    expect(refused.isError).toBe(true);
    expect(refused.content).toEqual([{ type: 'text', text: expect.stringMatching(/elicitation\/create.*capabilit/) }]);
  });

  it('passes questions of prompts and resources back too', async () => {
    const asking = { clientCapabilities: ELICITATION };
    expect(await source.getPrompt('sign-off', undefined, new AbortController().signal, asking)).toMatchObject({
      resultType: 'input_required',
      inputRequests: { name: { method: 'elicitation/create', params: { message: 'Sign off as?' } } },
    });
    const prompt = await source.getPrompt('sign-off', undefined, new AbortController().signal, {
      ...asking,
      input: { responses: { name: { action: 'accept', content: { name: 'Ada' } } } },
    });
    expect(prompt).toMatchObject({ messages: [{ role: 'user', content: { type: 'text', text: 'Signed off by Ada' } }] });
    const resource = await source.readResource('note://private', new AbortController().signal, {
      ...asking,
      input: { responses: { reveal: { action: 'accept', content: {} } } },
    });
    expect(resource).toMatchObject({ contents: [{ uri: 'note://private', text: 'the private note' }] });
  });
});
