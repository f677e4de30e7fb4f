import { isDeepStrictEqual } from 'node:util';
import type { CallToolResult, Tool, ToolAnnotations } from '@modelcontextprotocol/server';
import * as z from 'zod';
import { errorResult, ToolError, unavailableResult, UnknownToolError, type ToolCallContext, type ToolSource } from './tool-source.ts';

/** A built-in tool: verb-first name, a description written for a model, a zod input schema, honest annotations. */
export interface BuiltinTool<S extends z.ZodObject> {
  name: string;
  title?: string;
  description: string;
  inputSchema: S;
  /**
   * What every non-error result carries as `structuredContent`. Clients
   * validate it (the v1 SDK client rejects a call whose result does not
   * match), so the registry checks it before a result leaves.
   */
  outputSchema?: z.ZodObject;
  annotations: ToolAnnotations;
}

export type ToolHandler<S extends z.ZodObject> = (args: z.output<S>, context: ToolCallContext) => Promise<CallToolResult>;

/** Where built-in servers register their tools, one `registerXTool(registry, ctx)` per file. */
export interface ToolRegistry {
  registerTool<S extends z.ZodObject>(tool: BuiltinTool<S>, handler: ToolHandler<S>): void;
}

interface Entry {
  tool: Tool;
  schema: z.ZodObject;
  outputSchema: z.ZodObject | undefined;
  handler: (args: unknown, context: ToolCallContext) => Promise<CallToolResult>;
}

function describeIssues(error: z.ZodError, whole = 'arguments'): string {
  return error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : whole}: ${i.message}`).join('; ');
}

/** A zod schema as a tool publishes it: JSON Schema of what `io` is, without `$schema`. */
function toToolSchema(schema: z.ZodObject, io: 'input' | 'output'): Tool['inputSchema'] {
  const json = z.toJSONSchema(schema, { io }) as Tool['inputSchema'];
  delete (json as Record<string, unknown>)['$schema'];
  return json;
}

/**
 * Why `result` does not carry the structuredContent `schema` promises; undefined
 * when it does. An error result carries none (see `callTool`).
 */
function checkStructuredContent(result: CallToolResult, schema: z.ZodObject): string | undefined {
  if (result.structuredContent === undefined) return 'no structuredContent';
  const parsed = schema.safeParse(result.structuredContent);
  if (!parsed.success) return describeIssues(parsed.error, 'structuredContent');
  // zod drops keys its objects do not declare, where the published schema forbids them (`additionalProperties: false`).
  if (!isDeepStrictEqual(parsed.data, result.structuredContent)) return 'structuredContent has fields the schema does not declare';
  return undefined;
}

/**
 * A registry that is also a ToolSource: arguments are validated before the
 * handler runs, a `ToolError` becomes an `isError` result, and the result of
 * a tool with an outputSchema is checked against it before it leaves.
 */
export function createToolRegistry(options: { onClose?: () => Promise<void> } = {}): ToolRegistry & ToolSource {
  const entries = new Map<string, Entry>();
  return {
    registerTool(tool, handler) {
      if (entries.has(tool.name)) throw new Error(`tool ${tool.name} registered twice`);
      entries.set(tool.name, {
        tool: {
          name: tool.name,
          ...(tool.title !== undefined && { title: tool.title }),
          description: tool.description,
          inputSchema: toToolSchema(tool.inputSchema, 'input'),
          ...(tool.outputSchema && { outputSchema: toToolSchema(tool.outputSchema, 'output') }),
          annotations: tool.annotations,
        },
        schema: tool.inputSchema,
        outputSchema: tool.outputSchema,
        handler: handler as Entry['handler'],
      });
    },

    listTools: () => Promise.resolve([...entries.values()].map((e) => e.tool)),

    async callTool(name, args, context) {
      const entry = entries.get(name);
      if (!entry) throw new UnknownToolError(name);
      const parsed = entry.schema.safeParse(args);
      if (!parsed.success) return errorResult(`Invalid arguments for ${name}: ${describeIssues(parsed.error)}`);
      let result: CallToolResult;
      try {
        result = await entry.handler(parsed.data, context);
      } catch (error) {
        if (error instanceof ToolError) return error.unavailable ? unavailableResult(error.message) : errorResult(error.message);
        throw error;
      }
      if (!entry.outputSchema) return result;
      if (result.isError) {
        // Clients validate any structuredContent against the schema, an error result's too; an error has none to give.
        const { structuredContent: _, ...error } = result;
        return error;
      }
      // A result that breaks its own schema is our bug; sent as it is, the client's SDK would reject the whole call.
      const mismatch = checkStructuredContent(result, entry.outputSchema);
      return mismatch === undefined ? result : errorResult(`${name} returned a result that does not match its outputSchema: ${mismatch}.`);
    },

    close: () => options.onClose?.() ?? Promise.resolve(),
  };
}
