import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult } from '../../tool-source.ts';
import type { FilesystemContext } from '../file-io.ts';
import { textOutputSchema } from '../output.ts';

const outputSchema = textOutputSchema.extend({ directories: z.array(z.string()), readOnly: z.boolean() });

/** `list_allowed_directories`: where the other tools may go, and whether they may write. */
export function registerListAllowedDirectoriesTool(registry: ToolRegistry, ctx: FilesystemContext): void {
  registry.registerTool(
    {
      name: 'list_allowed_directories',
      title: 'List Allowed Directories',
      description:
        'List the directories this server may access (everything below them is accessible too). Relative ' +
        'paths given to the other tools resolve against the first one. Also says whether writing is allowed.',
      inputSchema: z.object({}),
      outputSchema,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    () => {
      const directories = [...ctx.sandbox.shownRoots];
      const mode = ctx.readOnly ? 'read-only' : 'read-write';
      return Promise.resolve(
        textResult(`Allowed directories (${mode}):\n${directories.join('\n')}`, {
          directories,
          readOnly: ctx.readOnly,
        }),
      );
    },
  );
}
