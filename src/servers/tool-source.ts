import type { CallToolResult, Tool } from '@modelcontextprotocol/server';

/** What a running tool call may use: the caller's cancellation and a progress channel. */
export interface ToolCallContext {
  /** Aborted when the MCP client cancels or goes away; pass it on to I/O. */
  signal: AbortSignal;
  /** Sends a progress notification when the caller asked for progress; a no-op otherwise. */
  progress(progress: number, total?: number, message?: string): Promise<void>;
  /** `_meta` of the caller's request, for sources that read protocol extensions (a bot's call chain). */
  meta?: Record<string, unknown> | undefined;
}

/**
 * A source of tools: a built-in server or a tenant's upstream. The gateway
 * publishes sources as MCP servers (one per endpoint, or namespaced in the
 * aggregate endpoint); sources never see HTTP or credentials of the caller.
 */
export interface ToolSource {
  listTools(signal: AbortSignal): Promise<Tool[]>;
  /**
   * Runs a tool. Failures the model can act on come back as `isError: true`
   * results; an unknown tool name throws `UnknownToolError`.
   */
  callTool(name: string, args: Record<string, unknown>, context: ToolCallContext): Promise<CallToolResult>;
  /** Releases connections or processes held by the source. */
  close(): Promise<void>;
  /** True while the source serves something between requests (resource watches): its pool must not close it as idle. */
  inUse?(): boolean;
}

/** Thrown by `callTool` for a name the source does not have. */
export class UnknownToolError extends Error {
  override readonly name = 'UnknownToolError';
  constructor(readonly tool: string) {
    super(`unknown tool: ${tool}`);
  }
}

/** A failure to report to the model as a tool error result, with a message it can act on. */
export class ToolError extends Error {
  override readonly name = 'ToolError';
}

export function textResult(text: string, structuredContent?: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text }], ...(structuredContent && { structuredContent }) };
}

export function errorResult(message: string): CallToolResult {
  return { content: [{ type: 'text', text: message }], isError: true };
}
