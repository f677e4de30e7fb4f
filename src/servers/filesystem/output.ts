import type { CallToolResult } from '@modelcontextprotocol/server';
import * as z from 'zod';
import type { ToolRegistry } from '../tool-registry.ts';

/**
 * The reference server (`@modelcontextprotocol/server-filesystem`) declares
 * `{ content: string }` on its text tools, `content` being the text of the
 * result, and `{ content: [image | audio | resource block] }` on
 * `read_media_file`, mirroring the result's blocks. Ours declare the same
 * `content`, and the tools' own fields beside it.
 */
const textContent = z.string().describe('The text of the result, the same as its text content block.');

/** `{ content: string }`, as the reference's text tools declare it; a tool's own fields extend it. */
export const textOutputSchema = z.object({ content: textContent });

const mediaBlock = z.union([
  z.object({ type: z.enum(['image', 'audio']), data: z.string().describe('Base64.'), mimeType: z.string() }),
  z.object({
    type: z.literal('resource'),
    resource: z.object({ uri: z.string(), mimeType: z.string().optional(), blob: z.string().describe('Base64.') }),
  }),
]);

const textBlock = z.object({ type: z.literal('text'), text: z.string() });

/** `read_media_file`'s: its one block, as in the result's content. */
export const mediaOutputSchema = z.object({
  content: z.array(mediaBlock).describe('The content blocks of the result, as they are.'),
});

/** `read_file`'s: the text of a text file, as `read_text_file` gives it; a binary file's blocks (a caption, then the file) as they are. */
export const fileOutputSchema = z.object({
  content: z.union([textContent, z.array(z.union([textBlock, mediaBlock])).describe('The content blocks of the result, as they are.')]),
});

/** What a result's `content` says in structuredContent: the text of a result that is only text, else its blocks. */
function referenceContent(result: CallToolResult): string | CallToolResult['content'] {
  const texts = result.content.flatMap((block) => (block.type === 'text' ? [block.text] : []));
  return texts.length === result.content.length ? texts.join('\n') : result.content;
}

/**
 * `registry`, with `content` added to the structuredContent of each non-error
 * result (see `textOutputSchema`), so that no tool repeats its text there.
 */
export function withReferenceContent(registry: ToolRegistry): ToolRegistry {
  return {
    registerTool(tool, handler) {
      registry.registerTool(tool, async (args, context) => {
        const result = await handler(args, context);
        if (result.isError) return result;
        // Our handlers' structuredContent is an object (`textResult`) when there is one.
        const own = result.structuredContent as Record<string, unknown> | undefined;
        return { ...result, structuredContent: { ...own, content: referenceContent(result) } };
      });
    },
  };
}
