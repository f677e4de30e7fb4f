import { ProtocolError, ProtocolErrorCode, ResourceNotFoundError, type Server } from '@modelcontextprotocol/server';
import type { Logger } from '../../shared/logger.ts';
import { ToolError } from '../../servers/index.ts';
import type { ContentCatalog } from './content-catalog.ts';
import { askingOf } from './tool-call.ts';

/**
 * The JSON-RPC error for a failed resources/prompts/completion request.
 * Upstream failures carry a message naming the host that is safe to show the
 * tenant (the servers module's `UpstreamError`, recognised by name because
 * its index does not export it), as do `ToolError`s; anything else is logged and replaced by a
 * generic message, so no raw error reaches a client. Upstream error codes
 * other than "not found" and "invalid params" are not forwarded: codes such
 * as -32022 (unsupported version) describe the hop, not this endpoint.
 */
export function toProtocolError(error: unknown, request: { method: string; uri?: string; name?: string }, logger: Logger): ProtocolError {
  if (error instanceof ProtocolError) return error;
  const safe = error instanceof ToolError || (error instanceof Error && error.name === 'UpstreamError');
  if (!safe) {
    logger.error({ err: error, ...request }, 'an MCP request to a source failed');
    return new ProtocolError(ProtocolErrorCode.InternalError, `${request.method} failed unexpectedly; try again later.`);
  }
  const answer = error.cause;
  const code = answer instanceof ProtocolError ? answer.code : undefined;
  // 2025-era SDKs answer a read miss with a bare -32602 (the URI is its only
  // parameter), newer ones with -32002 or -32602 + data.uri: all become the
  // 2026 form, carrying the URI the client asked for.
  const notFound = code === ProtocolErrorCode.ResourceNotFound || code === ProtocolErrorCode.InvalidParams;
  if (request.uri !== undefined && notFound) return new ResourceNotFoundError(request.uri, error.message);
  if (code === ProtocolErrorCode.InvalidParams) return new ProtocolError(ProtocolErrorCode.InvalidParams, error.message);
  return new ProtocolError(ProtocolErrorCode.InternalError, error.message);
}

/**
 * Serves the catalog's resources, prompts and completions on `server`, for
 * the capabilities the catalog reports (the SDK refuses handlers for
 * capabilities the server does not declare).
 */
export function registerContentHandlers(server: Server, catalog: ContentCatalog, logger: Logger): void {
  const failed = (request: Parameters<typeof toProtocolError>[1]) => (error: unknown) => {
    throw toProtocolError(error, request, logger);
  };

  if (catalog.capabilities.resources) {
    server.setRequestHandler('resources/list', async (_request, ctx) => ({
      resources: await catalog.listResources(ctx.mcpReq.signal),
    }));
    server.setRequestHandler('resources/templates/list', async (_request, ctx) => ({
      resourceTemplates: await catalog.listResourceTemplates(ctx.mcpReq.signal),
    }));
    server.setRequestHandler('resources/read', async (request, ctx) => {
      const { uri } = request.params;
      const result = await catalog.readResource(uri, ctx.mcpReq.signal, askingOf(ctx.mcpReq)).catch(failed({ method: 'resources/read', uri }));
      // Per-tenant content must never sit in a shared cache, whatever the upstream said.
      return 'cacheScope' in result ? { ...result, cacheScope: 'private' as const } : result;
    });
  }

  if (catalog.capabilities.prompts) {
    server.setRequestHandler('prompts/list', async (_request, ctx) => ({
      prompts: await catalog.listPrompts(ctx.mcpReq.signal),
    }));
    server.setRequestHandler('prompts/get', (request, ctx) => {
      const { name } = request.params;
      return catalog.getPrompt(name, request.params.arguments, ctx.mcpReq.signal, askingOf(ctx.mcpReq)).catch(failed({ method: 'prompts/get', name }));
    });
  }

  if (catalog.capabilities.completions) {
    server.setRequestHandler('completion/complete', (request, ctx) =>
      catalog.complete(request.params, ctx.mcpReq.signal).catch(failed({ method: 'completion/complete' })),
    );
  }
}
