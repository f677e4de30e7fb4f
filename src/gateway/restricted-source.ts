import type { ToolCallOutcome, ToolSource } from '../servers/index.ts';
import { mayUseTool } from '../tenancy/index.ts';

/** Marks the refusals of a restricted key's calls; a symbol, so it never reaches the wire. */
const DENIED = Symbol('botgate.denied');

/** Whether a result is a restricted key's call refused (`restrictSource`), audited as `denied` rather than a tool's own error. */
export function isDeniedResult(result: object): boolean {
  return (result as Record<symbol, unknown>)[DENIED] === true;
}

/**
 * A source as a restricted key sees it: only the tools the key may use are
 * listed, and a call to any other is refused as a tool error (`isDeniedResult`).
 */
export function restrictSource(
  source: ToolSource<ToolCallOutcome>,
  serverSlug: string,
  tools: readonly string[] | null,
): ToolSource<ToolCallOutcome> {
  if (tools === null) return source;
  return {
    listTools: async (signal) => (await source.listTools(signal)).filter((t) => mayUseTool(tools, serverSlug, t.name)),
    callTool: (name, args, context) =>
      mayUseTool(tools, serverSlug, name)
        ? source.callTool(name, args, context)
        : Promise.resolve({
            content: [{ type: 'text', text: `This API key may not use the tool ${name} of ${serverSlug}.` }],
            isError: true,
            [DENIED]: true,
          }),
    // The underlying source is shared; it is closed by its pool, not by this view.
    close: () => Promise.resolve(),
  };
}
