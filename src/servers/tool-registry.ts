import type { CallToolResult, Tool, ToolAnnotations } from '@modelcontextprotocol/server';
import * as z from 'zod';
import { errorResult, ToolError, unavailableResult, UnknownToolError, type ToolCallContext, type ToolSource } from './tool-source.ts';

/** A built-in tool: verb-first name, a description written for a model, a zod input schema, honest annotations. */
export interface BuiltinTool<S extends z.ZodObject> {
  name: string;
  title?: string;
  description: string;
  inputSchema: S;
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
  handler: (args: unknown, context: ToolCallContext) => Promise<CallToolResult>;
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : 'arguments'}: ${i.message}`).join('; ');
}

/**
 * A registry that is also a ToolSource: arguments are validated before the
 * handler runs, and a `ToolError` becomes an `isError` result.
 */
export function createToolRegistry(options: { onClose?: () => Promise<void> } = {}): ToolRegistry & ToolSource {
  const entries = new Map<string, Entry>();
  return {
    registerTool(tool, handler) {
      if (entries.has(tool.name)) throw new Error(`tool ${tool.name} registered twice`);
      const inputSchema = z.toJSONSchema(tool.inputSchema, { io: 'input' }) as Tool['inputSchema'];
      delete (inputSchema as Record<string, unknown>)['$schema'];
      entries.set(tool.name, {
        tool: {
          name: tool.name,
          ...(tool.title !== undefined && { title: tool.title }),
          description: tool.description,
          inputSchema,
          annotations: tool.annotations,
        },
        schema: tool.inputSchema,
        handler: handler as Entry['handler'],
      });
    },

    listTools: () => Promise.resolve([...entries.values()].map((e) => e.tool)),

    async callTool(name, args, context) {
      const entry = entries.get(name);
      if (!entry) throw new UnknownToolError(name);
      const parsed = entry.schema.safeParse(args);
      if (!parsed.success) return errorResult(`Invalid arguments for ${name}: ${describeIssues(parsed.error)}`);
      try {
        return await entry.handler(parsed.data, context);
      } catch (error) {
        if (error instanceof ToolError) return error.unavailable ? unavailableResult(error.message) : errorResult(error.message);
        throw error;
      }
    },

    close: () => options.onClose?.() ?? Promise.resolve(),
  };
}
