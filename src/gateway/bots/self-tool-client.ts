import { Client, StreamableHTTPClientTransport, type CallToolResult, type DiscoverResult } from '@modelcontextprotocol/client';
import type { ModelTool, ModelUsage, ToolClient, ToolOutcome } from '../../bots/index.ts';
import { CHAIN_META_KEY } from './chain.ts';
import { incomingVia, VIA_HEADER } from '../../shared/via.ts';

const CLIENT_INFO = { name: 'botgate-bot', version: '1' };

/** `structuredContent` of a nested bot's `ask`, as far as the caller's totals need it. */
interface NestedAsk {
  usage?: { input_tokens?: unknown; output_tokens?: unknown; cache_write_tokens?: unknown; cache_read_tokens?: unknown };
  cost_usd?: unknown;
  unpriced_calls?: unknown;
}

const count = (value: unknown) => (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : 0);

/** The usage a nested bot reported, when the result came from a bot. */
function nestedOf(name: string, result: CallToolResult): ToolOutcome['nested'] {
  if (!name.startsWith('bot__') || !result.structuredContent) return undefined;
  const ask = result.structuredContent as NestedAsk;
  if (!ask.usage) return undefined;
  const usage: ModelUsage = {
    inputTokens: count(ask.usage.input_tokens),
    outputTokens: count(ask.usage.output_tokens),
    cacheCreationInputTokens: count(ask.usage.cache_write_tokens),
    cacheReadInputTokens: count(ask.usage.cache_read_tokens),
  };
  return { usage, costUsd: typeof ask.cost_usd === 'string' ? ask.cost_usd : null, unpricedCalls: count(ask.unpriced_calls) };
}

/** A tool result as text the model can read; non-text content is described, not dropped silently. */
export function resultText(result: CallToolResult): string {
  const parts = result.content.map((block) => {
    switch (block.type) {
      case 'text':
        return block.text;
      case 'resource':
        return 'text' in block.resource ? block.resource.text : `[binary resource ${block.resource.uri}]`;
      case 'resource_link':
        return `[resource ${block.uri}]`;
      default:
        return `[${block.type} content omitted]`;
    }
  });
  if (parts.length === 0 && result.structuredContent) return JSON.stringify(result.structuredContent);
  return parts.join('\n');
}

/**
 * A bot run's tools over the gateway's own MCP endpoint `/t/{tenant}/mcp`,
 * authenticated with the run's credential: the calls are restricted, pinned,
 * sandboxed and audited exactly as any client's. The call chain travels in
 * `_meta` of each call.
 */
export function createSelfToolClient(options: {
  url: string;
  credential: string;
  chain: readonly string[];
  /**
   * `server/discover` answers of this node's endpoints by URL: the first run on
   * an endpoint asks, later runs skip the round trip. Only tools are used, and
   * those are listed afresh by every run.
   */
  discoveries: Map<string, DiscoverResult>;
  /** Called once the client is closed, to revoke the credential. */
  onClose: () => void;
}): ToolClient & { close(): Promise<void> } {
  let connected: Promise<Client> | undefined;

  function client(): Promise<Client> {
    connected ??= (async () => {
      const mcp = new Client(CLIENT_INFO, { versionNegotiation: { mode: 'auto' } });
      // The chain the run's request came with goes on with its tools, so that a loop through remote servers and bots is seen.
      const via = incomingVia();
      const headers = { authorization: `Bearer ${options.credential}`, ...(via !== undefined && { [VIA_HEADER]: via }) };
      const discover = options.discoveries.get(options.url);
      await mcp.connect(new StreamableHTTPClientTransport(new URL(options.url), { requestInit: { headers } }), discover && { prior: { kind: 'modern', discover } });
      const learned = mcp.getDiscoverResult();
      if (!discover && learned) options.discoveries.set(options.url, learned);
      return mcp;
    })();
    return connected;
  }

  return {
    async listTools(signal) {
      const { tools } = await (await client()).listTools(undefined, { signal });
      return tools.map(
        (tool): ModelTool => ({
          name: tool.name,
          description: tool.description ?? tool.title ?? tool.name,
          input_schema: { ...tool.inputSchema, type: 'object' },
        }),
      );
    },

    async callTool(name, input, signal) {
      const result = await (await client()).callTool(
        { name, arguments: input, _meta: { [CHAIN_META_KEY]: [...options.chain] } },
        { signal, timeout: 10 * 60_000, resetTimeoutOnProgress: true },
      );
      return { text: resultText(result), isError: result.isError === true, nested: nestedOf(name, result) };
    },

    async close() {
      options.onClose();
      const open = await connected?.catch(() => undefined);
      await open?.close().catch(() => undefined);
    },
  };
}
