import { ResourceNotFoundError, type ReadResourceResult, type Resource } from '@modelcontextprotocol/server';
import type { BotInfo, ConversationService } from '../../bots/index.ts';
import { AppError } from '../../shared/errors.ts';
import { UnknownToolError } from '../../servers/index.ts';
import { isUuid } from '../../tenancy/index.ts';
import type { CatalogEntry } from '../mcp/tool-catalog.ts';
import { visibleActors } from '../visibility.ts';
import { askAsTool, askTool, BOTS_NAMESPACE, type AskContext } from './bot-ask.ts';
import { chainFromMeta, mergeChains } from './chain.ts';

const CONVERSATION_SCHEME = 'conversation://';
const LISTED_CONVERSATIONS = 50;

/** The ask context of one call: the chain the call claims in `_meta` joins the one its credential binds. */
function forCall(context: AskContext, meta: Record<string, unknown> | undefined): AskContext {
  return { ...context, chain: mergeChains(context.chain, chainFromMeta(meta)) };
}

/**
 * Every bot the caller may use, as tools of the aggregate endpoint: each bot
 * is a tool of the pseudo-server `bot`, so it is published as `bot__{slug}`.
 */
export function botsEntry(context: AskContext, bots: readonly BotInfo[]): CatalogEntry {
  const bySlug = new Map(bots.map((bot) => [bot.slug, bot]));
  return {
    slug: BOTS_NAMESPACE,
    serverId: '',
    kind: 'bot',
    audit: (tool) => ({ resourceType: 'bot', resourceId: bySlug.get(tool)?.id ?? null }),
    source: {
      listTools: async () => bots.map((bot) => askTool(bot.slug, bot)),
      callTool: async (name, args, call) => {
        if (!bySlug.has(name)) throw new UnknownToolError(name);
        return askAsTool(forCall(context, call.meta), name, args, call);
      },
      close: async () => undefined,
    },
  };
}

/** Renders a stored conversation for `resources/read`. */
async function readConversation(conversations: ConversationService, context: AskContext, bot: BotInfo, uri: string): Promise<ReadResourceResult> {
  const id = uri.startsWith(CONVERSATION_SCHEME) ? uri.slice(CONVERSATION_SCHEME.length) : '';
  if (!isUuid(id)) throw new ResourceNotFoundError(uri);
  const tenantId = context.principal.tenant.id;
  try {
    const conversation = await conversations.get(tenantId, id, { botId: bot.id, visibleTo: visibleActors(context.principal) });
    const messages = await conversations.messages(tenantId, id);
    const body = {
      id: conversation.id,
      bot: bot.slug,
      title: conversation.title,
      summary: conversation.summary,
      created_at: conversation.createdAt.toISOString(),
      updated_at: conversation.updatedAt.toISOString(),
      messages: messages.map((m) => ({ seq: m.seq, role: m.role, content: m.content, run_id: m.runId, created_at: m.createdAt.toISOString() })),
    };
    return { contents: [{ uri, mimeType: 'application/json', text: JSON.stringify(body, null, 2) }] };
  } catch (error) {
    if (error instanceof AppError && error.code === 'not_found') throw new ResourceNotFoundError(uri);
    throw error;
  }
}

/**
 * One bot as an MCP server: the tool `ask`, and the caller's conversations
 * with it as resources `conversation://{id}`.
 */
export function botEntry(context: AskContext, bot: BotInfo, conversations: ConversationService): CatalogEntry {
  return {
    slug: bot.slug,
    serverId: '',
    kind: 'bot',
    audit: () => ({ resourceType: 'bot', resourceId: bot.id }),
    source: {
      listTools: async () => [askTool('ask', bot)],
      callTool: async (name, args, call) => {
        if (name !== 'ask') throw new UnknownToolError(name);
        return askAsTool(forCall(context, call.meta), bot.slug, args, call);
      },
      listResources: async (): Promise<Resource[]> => {
        const { conversations: recent } = await conversations.list(context.principal.tenant.id, {
          botId: bot.id,
          visibleTo: visibleActors(context.principal),
          limit: LISTED_CONVERSATIONS,
        });
        return recent.map((c) => ({
          uri: `${CONVERSATION_SCHEME}${c.id}`,
          name: c.title ?? `Conversation ${c.id}`,
          mimeType: 'application/json',
          description: `${c.messageCount} messages with ${bot.name}, last on ${c.updatedAt.toISOString()}`,
        }));
      },
      readResource: (uri) => readConversation(conversations, context, bot, uri),
      close: async () => undefined,
    },
  };
}
