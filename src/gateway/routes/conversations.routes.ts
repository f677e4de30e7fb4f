import { Router } from 'express';
import * as z from 'zod';
import type { BotsModule, ConversationInfo, StoredMessage } from '../../bots/index.ts';
import type { TenancyModule } from '../../tenancy/index.ts';
import { requirePermission } from '../auth.ts';
import { param, parseInput, principalOf } from '../http.ts';
import { usageTotalsJson } from '../serialize.ts';
import { visibleActors } from '../visibility.ts';

const listQuery = z.strictObject({
  bot: z.string().min(1).max(200).optional(),
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

function conversationJson(conversation: ConversationInfo) {
  return {
    id: conversation.id,
    bot_id: conversation.botId,
    title: conversation.title,
    principal: conversation.principal,
    summary: conversation.summary,
    summarized_through_seq: conversation.summarizedThroughSeq,
    message_count: conversation.messageCount,
    created_at: conversation.createdAt.toISOString(),
    updated_at: conversation.updatedAt.toISOString(),
  };
}

function messageJson(message: StoredMessage) {
  return {
    seq: message.seq,
    role: message.role,
    content: message.content,
    run_id: message.runId,
    created_at: message.createdAt.toISOString(),
  };
}

/** `GET /api/v1/conversations[/{id}]`: the tenant's conversations with its bots, newest first, and their messages. */
export function createConversationRoutes({ bots, tenancy }: { bots: BotsModule; tenancy: TenancyModule }): Router {
  const router = Router();

  router.get('/conversations', requirePermission('conversations:read'), async (req, res) => {
    const query = parseInput(listQuery, req.query, 'query');
    const principal = principalOf(res);
    const botId = query.bot === undefined ? undefined : (await bots.bots.get(principal.tenant, query.bot)).id;
    const page = await bots.conversations.list(principal.tenant.id, {
      ...(botId === undefined ? {} : { botId }),
      ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
      visibleTo: visibleActors(principal),
      limit: query.limit,
    });
    res.json({ conversations: page.conversations.map(conversationJson), next_cursor: page.nextCursor });
  });

  router.get('/conversations/:id', requirePermission('conversations:read'), async (req, res) => {
    const principal = principalOf(res);
    const id = param(req, 'id');
    const conversation = await bots.conversations.get(principal.tenant.id, id, { visibleTo: visibleActors(principal) });
    const [messages, usage] = await Promise.all([
      bots.conversations.messages(principal.tenant.id, id),
      tenancy.usage.forConversation(principal.tenant.id, id),
    ]);
    res.json({ conversation: { ...conversationJson(conversation), usage: usageTotalsJson(usage), messages: messages.map(messageJson) } });
  });

  return router;
}
