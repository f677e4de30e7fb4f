import type { CallToolResult } from '@modelcontextprotocol/server';
import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult, ToolError } from '../../tool-source.ts';
import type { GithubToolContext } from '../context.ts';
import { failureOf } from '../errors.ts';
import { readOnlyAnnotations, truncate } from '../format.ts';

/** Longest file text returned to the model. */
const MAX_FILE_CHARS = 100_000;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decoded text, or undefined for content that is not UTF-8 text. */
function decodeText(bytes: Uint8Array): string | undefined {
  if (bytes.includes(0)) return undefined;
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * A text file's result: its text, then a note of its blob sha, which
 * create_or_update_file needs to replace the file, for clients that give
 * their model the content alone (the sha is in the structured content too).
 */
function textFileResult(text: string, structured: { sha: string } & Record<string, unknown>): CallToolResult {
  const note = `[blob sha ${structured.sha}: pass it as sha to create_or_update_file to replace this file]`;
  return { content: [{ type: 'text', text }, { type: 'text', text: note }], structuredContent: structured };
}

/** Registers `get_file_contents`: a file's text, or a directory's entries. */
export function registerGetFileContentsTool(registry: ToolRegistry, ctx: GithubToolContext): void {
  registry.registerTool(
    {
      name: 'get_file_contents',
      title: 'Get file or directory contents',
      description:
        "Reads a file from a GitHub repository and returns its text, or lists a directory's entries. " +
        `Text past ${MAX_FILE_CHARS} characters is cut (files up to 100 MB can be read); a binary file is described, not shown. ` +
        'Use an empty path for the repository root; pass ref to read a branch, tag or commit other than the default branch.',
      inputSchema: z.object({
        ...ctx.repoShape,
        path: z
          .string()
          .max(1000)
          .refine((p) => !p.split('/').some((s) => s === '.' || s === '..'), "must not contain '.' or '..' segments")
          .default('')
          .describe("Path inside the repository, e.g. 'src/index.ts'; empty for the root."),
        ref: z.string().min(1).max(255).optional().describe('Branch, tag or commit SHA. Defaults to the default branch.'),
      }),
      annotations: readOnlyAnnotations,
    },
    async (args, context) => {
      const { owner, repo } = ctx.resolveRepo(args);
      const path = args.path.replace(/^\/+|\/+$/g, '');
      const at = args.ref ? `@${args.ref}` : '';
      const where = `${owner}/${repo}${at}`;
      const subject = path ? `path '${path}' in ${where}` : `repository ${where}`;
      const { data } = await ctx.call(context, subject, (request) =>
        ctx.client.rest.repos.getContent({ owner, repo, path, ...(args.ref && { ref: args.ref }), request }),
      );
      const base = { owner, repo, path, ...(args.ref && { ref: args.ref }) };

      if (Array.isArray(data)) {
        const entries = data.map((e) => ({ name: e.name, path: e.path, type: e.type, size: e.size }));
        const lines = entries.map((e) => (e.type === 'dir' ? `${e.name}/` : e.type === 'file' ? `${e.name} (${e.size} bytes)` : `${e.name} (${e.type})`));
        const text = `Directory ${path || '/'} in ${where}, ${entries.length} entries:\n${lines.join('\n')}`;
        return textResult(text, { ...base, type: 'dir', entries });
      }
      if (data.type === 'symlink' && 'target' in data) {
        return textResult(`${path} in ${where} is a symlink to ${data.target}.`, { ...base, type: 'symlink', target: data.target });
      }
      if (data.type === 'submodule' && 'submodule_git_url' in data) {
        const url = data.submodule_git_url;
        return textResult(`${path} in ${where} is a submodule of ${url} at ${data.sha}.`, { ...base, type: 'submodule', url, sha: data.sha });
      }
      const file = { ...base, type: 'file', sha: data.sha, size: data.size };
      // The contents API leaves `content` empty (encoding "none") for files over 1 MB. The blob it names
      // (so the content matches the sha returned, should the branch move meanwhile) comes raw up to 100 MB.
      const bytes =
        data.encoding === 'base64' && !(data.content === '' && data.size > 0)
          ? Buffer.from(data.content, 'base64')
          : await ctx.call(context, subject, async (request) => {
              try {
                const raw = await ctx.client.rest.git.getBlob({
                  owner,
                  repo,
                  file_sha: data.sha,
                  mediaType: { format: 'raw' },
                  request: { ...request, parseSuccessResponseBody: false },
                });
                return new Uint8Array(await new Response(raw.data as unknown as ReadableStream<Uint8Array>).arrayBuffer());
              } catch (error) {
                // Over 100 MB GitHub's 403 says "This API returns blobs up to 100 MB in size": no token lacks a scope here.
                const failure = failureOf(error);
                if (failure?.status !== 403 || !/too large|up to \d+ MB/i.test(failure.message)) throw error;
                throw new ToolError(`${path} in ${where} is too large to read through GitHub's API (${data.size} bytes; it serves files up to 100 MB).`);
              }
            });
      const decoded = decodeText(bytes);
      if (decoded === undefined) {
        return textResult(`${path} in ${where} is a binary file (${data.size} bytes); its content is not shown.`, { ...file, binary: true });
      }
      if (decoded === '') return textFileResult(`${path} in ${where} is an empty file.`, { ...file, truncated: false, content: '' });
      const { text, truncated } = truncate(decoded, MAX_FILE_CHARS);
      return textFileResult(text, { ...file, truncated, content: text });
    },
  );
}
