import type { Tool } from '@modelcontextprotocol/server';
import { unstorableAt } from '../../shared/storable-json.ts';
import { canonicalJson, cutText, definitionOf, sha256Hex, type ToolDefinition } from './tool-definition.ts';

/**
 * The most bytes of canonical JSON one tool definition may have. Real tools
 * take a few KiB; a larger one is withheld and never pinned, so that an
 * upstream cannot make each listing cost the shared database megabytes.
 */
export const MAX_DEFINITION_BYTES = 256 * 1024;

/** MCP's tool naming rule (2025-11-25): clients, and the Claude API, refuse other names. */
const TOOL_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

/** A listed tool that can be pinned: its definition, and that definition's digest. */
export interface PinnableTool {
  tool: Tool;
  definition: ToolDefinition;
  digest: string;
  /** Bytes of the definition's canonical JSON. */
  bytes: number;
}

/** A listed tool withheld whatever an admin approves, and why. */
export interface RefusedTool {
  /** The name as listed: any text an upstream sends (`refusedToolsOf` cuts it for display). */
  name: string;
  /** Why, for the model calling it and the admin reading the status: "it is listed more than once by the upstream". */
  reason: string;
  /** A definition too large to pin: its size in bytes and SHA-256, so the audit trail names it without a copy. */
  bytes?: number;
  sha256?: string;
}

/** Why a definition cannot be stored, or undefined when it can. */
function unstorableReason(definition: ToolDefinition): string | undefined {
  // Walks at most MAX_STORED_DEPTH deep: a schema nested 100,000 levels is refused, not recursed into.
  const found = unstorableAt(definition, '');
  if (!found) return undefined;
  return `the field ${JSON.stringify(cutText(found.path.replace(/^\./, ''), 200))} of its definition ${found.reason}`;
}

/**
 * Sorts an upstream's listing into tools that can be pinned and tools
 * withheld alone, whatever an approval says: a name MCP does not allow, a
 * name listed more than once (which copy would the upstream run?), a
 * definition PostgreSQL cannot store (a NUL, a lone surrogate, nesting past
 * the limit) or one over `MAX_DEFINITION_BYTES`. Refused names are given
 * once each, in the order listed.
 */
export function checkListedTools(tools: readonly Tool[]): { pinnable: PinnableTool[]; refused: RefusedTool[] } {
  const counts = new Map<string, number>();
  for (const tool of tools) counts.set(tool.name, (counts.get(tool.name) ?? 0) + 1);
  const pinnable: PinnableTool[] = [];
  const refused = new Map<string, RefusedTool>();
  for (const tool of tools) {
    const { name } = tool;
    if (refused.has(name)) continue;
    if (!TOOL_NAME.test(name)) {
      refused.set(name, { name, reason: 'its name is not 1 to 128 of the characters A-Z a-z 0-9 _ - . that MCP allows' });
      continue;
    }
    if (counts.get(name) !== 1) {
      refused.set(name, { name, reason: 'it is listed more than once by the upstream' });
      continue;
    }
    const checked = checkDefinition(tool);
    if ('reason' in checked) refused.set(name, checked);
    else pinnable.push(checked);
  }
  return { pinnable, refused: [...refused.values()] };
}

/** A tool's definition as a pin, or why it cannot be one: PostgreSQL cannot store it, or it is over `MAX_DEFINITION_BYTES`. */
function checkDefinition(tool: Tool): PinnableTool | RefusedTool {
  const { name } = tool;
  const definition = definitionOf(tool);
  const unstorable = unstorableReason(definition);
  if (unstorable) return { name, reason: unstorable };
  const json = canonicalJson(definition);
  const bytes = Buffer.byteLength(json);
  if (bytes > MAX_DEFINITION_BYTES) {
    const reason = `its definition is ${bytes.toLocaleString('en-US')} bytes of JSON, over the ${MAX_DEFINITION_BYTES.toLocaleString('en-US')} (256 KiB) a tool definition may have`;
    return { name, reason, bytes, sha256: sha256Hex(json) };
  }
  return { tool, definition, digest: sha256Hex(json), bytes };
}

/**
 * The name an upstream's instructions are pinned under, beside its tools:
 * one no tool can have (see `TOOL_NAME`), so approving it is approving them.
 */
export const INSTRUCTIONS_PIN = '(instructions)';

/**
 * An upstream's instructions (the text a client shows the model when it
 * connects) as a pin: a tool named `INSTRUCTIONS_PIN` whose description is
 * the text, refused as a tool definition would be.
 */
export function checkInstructions(text: string): PinnableTool | RefusedTool {
  return checkDefinition({ name: INSTRUCTIONS_PIN, description: text, inputSchema: { type: 'object' } });
}
