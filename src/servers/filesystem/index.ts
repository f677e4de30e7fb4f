import { createToolRegistry } from '../tool-registry.ts';
import type { AreaQuota } from './area-quota.ts';
import type { ToolSource } from '../tool-source.ts';
import type { FilesystemContext } from './file-io.ts';
import { withReferenceContent } from './output.ts';
import { createSandbox } from './sandbox.ts';
import { registerCreateDirectoryTool } from './tools/create-directory.ts';
import { registerDirectoryTreeTool } from './tools/directory-tree.ts';
import { registerEditFileTool } from './tools/edit-file.ts';
import { registerGetFileInfoTool } from './tools/get-file-info.ts';
import { registerListAllowedDirectoriesTool } from './tools/list-allowed-directories.ts';
import { registerListDirectoryTool } from './tools/list-directory.ts';
import { registerListDirectoryWithSizesTool } from './tools/list-directory-with-sizes.ts';
import { registerMoveFileTool } from './tools/move-file.ts';
import { registerReadFileTool } from './tools/read-file.ts';
import { registerReadMediaFileTool } from './tools/read-media-file.ts';
import { registerReadMultipleFilesTool } from './tools/read-multiple-files.ts';
import { registerReadTextFileTool } from './tools/read-text-file.ts';
import { registerSearchFilesTool } from './tools/search-files.ts';
import { registerWriteFileTool } from './tools/write-file.ts';

export { createAreaQuotas, createTurns, type AreaQuota, type AreaQuotas, type AreaUseLedger, type RecordedUse } from './area-quota.ts';

/** Largest file content one read returns unless configured otherwise: 1 MiB. */
export const DEFAULT_MAX_READ_BYTES = 1024 * 1024;

export interface FilesystemSourceOptions {
  /** Absolute directories the tools may use, created if missing; relative paths resolve against the first. */
  roots: string[];
  /** How the tools show each root instead of its host path (see `createSandbox`); by default as it is. */
  shownAs?: string[];
  /** When true, the write tools are not registered at all. */
  readOnly: boolean;
  /** Which missing roots are made (see `createSandbox`); all by default. */
  makesRoot?: (root: string) => boolean;
  /** Largest file content (bytes) one call returns; defaults to `DEFAULT_MAX_READ_BYTES`. */
  maxReadBytes?: number;
  /** Bounds what writes add to the tenant's area (real path); roots elsewhere are not bounded. */
  quota?: AreaQuota | undefined;
}

/**
 * The built-in `filesystem` server: file tools confined to `roots`, every
 * path resolved through the sandbox (symbolic links included) before use.
 * Results name paths as the sandbox shows them, error messages included.
 */
export async function createFilesystemSource(options: FilesystemSourceOptions): Promise<ToolSource> {
  const sandbox = await createSandbox(options.roots, options.shownAs, options.makesRoot);
  const ctx: FilesystemContext = {
    sandbox,
    maxReadBytes: options.maxReadBytes ?? DEFAULT_MAX_READ_BYTES,
    readOnly: options.readOnly,
    quota: options.quota,
  };
  const registry = createToolRegistry();
  const tools = withReferenceContent(registry);
  registerReadFileTool(tools, ctx);
  registerReadTextFileTool(tools, ctx);
  registerReadMediaFileTool(tools, ctx);
  registerReadMultipleFilesTool(tools, ctx);
  registerListDirectoryTool(tools, ctx);
  registerListDirectoryWithSizesTool(tools, ctx);
  registerDirectoryTreeTool(tools, ctx);
  registerSearchFilesTool(tools, ctx);
  registerGetFileInfoTool(tools, ctx);
  registerListAllowedDirectoriesTool(tools, ctx);
  if (!options.readOnly) {
    registerWriteFileTool(tools, ctx);
    registerEditFileTool(tools, ctx);
    registerCreateDirectoryTool(tools, ctx);
    registerMoveFileTool(tools, ctx);
  }
  const { quota } = options;
  return {
    ...registry,
    // A server with a root in the tenant's area reports the area's use of its quota.
    ...(quota &&
      sandbox.roots.some((root) => quota.covers(root)) && {
        check: async () => ({ storage: await quota.usage() }),
      }),
    // Error messages come from everywhere a path is checked or read; they are the one place a host path could remain.
    async callTool(name, args, context) {
      const result = await registry.callTool(name, args, context);
      if (!result.isError) return result;
      return { ...result, content: result.content.map((block) => (block.type === 'text' ? { ...block, text: sandbox.showIn(block.text) } : block)) };
    },
  };
}
