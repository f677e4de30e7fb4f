import { once } from 'node:events';
import { Router, type Response } from 'express';
import * as z from 'zod';
import type { BotRunEvent, BotsModule } from '../../bots/index.ts';
import { denialReason, mayUseTool } from '../../tenancy/index.ts';
import { AppError } from '../../shared/errors.ts';
import { askResultJson, BOTS_NAMESPACE, describeRunFailure, runAsk, spendingJson, type BotRuntime } from '../bots/bot-ask.ts';
import { createProgressCoalescer } from '../bots/progress-coalescer.ts';
import { param, parseInput, principalOf } from '../http.ts';

const chatBody = z.strictObject({
  message: z.string({ error: 'required: the user message' }).trim().min(1, 'must not be empty').max(100_000, 'must be at most 100000 characters'),
  conversation_id: z.uuid('must be the id of a conversation of this bot').optional(),
});

/** One server-sent event of the chat stream. */
type ChatEvent = { event: string; data: unknown };

/** Writes an event; waits for the socket to drain when its buffer is full, so a slow reader slows the writer. */
async function writeEvent(res: Response, { event, data }: ChatEvent): Promise<void> {
  if (res.writableEnded || res.destroyed) return;
  if (!res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)) {
    await Promise.race([once(res, 'drain'), once(res, 'close')]);
  }
}

/**
 * `POST /api/v1/bots/{bot}/chat` (`mcp` scope): one turn with a bot, streamed
 * as server-sent events `message_start`, `content_start`, `content`,
 * `content_end`, `tool_use`, `tool_result`, `usage`, `error`, then `[DONE]`.
 * A client that goes away cancels the run; the conversation keeps only
 * completed turns, and every model call made is metered.
 */
export function createChatRoutes(deps: BotRuntime & { bots: BotsModule }): Router {
  const router = Router();
  router.post('/bots/:bot/chat', async (req, res) => {
    const principal = principalOf(res);
    if (!principal.scopes.includes('mcp')) throw new AppError('forbidden', 'this key lacks the "mcp" scope needed to chat with bots');
    const denied = denialReason(principal, 'tools:use');
    if (denied) throw new AppError('forbidden', denied);
    const body = parseInput(chatBody, req.body, 'body');
    const bot = await deps.bots.bots.get(principal.tenant, param(req, 'bot'));
    // As on the bot's MCP endpoint: a key restricted to some tools uses only the bots among them.
    if (!mayUseTool(principal.tools, BOTS_NAMESPACE, bot.slug)) throw new AppError('not_found', 'bot not found');

    res.status(200).set({ 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', 'x-accel-buffering': 'no' });
    res.flushHeaders();
    const cancel = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) cancel.abort(new Error('the client closed the chat stream'));
    });

    let inText = false;
    const stream = createProgressCoalescer<ChatEvent>(
      (item) => writeEvent(res, item.kind === 'text' ? { event: 'content', data: { text: item.text } } : item.event),
      (error) => req.log.debug({ err: error }, 'chat event not delivered'),
    );
    const endText = () => {
      if (inText) stream.event({ event: 'content_end', data: {} });
      inText = false;
    };
    const onEvent = (event: BotRunEvent) => {
      switch (event.type) {
        case 'run_start':
          stream.event({ event: 'message_start', data: { run_id: event.runId, conversation_id: event.conversationId, bot: event.bot } });
          return;
        case 'text_delta':
          if (!inText) stream.event({ event: 'content_start', data: { type: 'text' } });
          inText = true;
          stream.text(event.text);
          return;
        case 'tool_use':
          endText();
          stream.event({ event: 'tool_use', data: { id: event.id, name: event.name, input: event.input } });
          return;
        case 'tool_result':
          stream.event({ event: 'tool_result', data: { id: event.id, name: event.name, is_error: event.isError, text: event.text } });
          return;
      }
    };

    try {
      const result = await runAsk(
        { ...deps, principal, parentRunId: null, chain: [] },
        { bot: bot.slug, message: body.message, conversationId: body.conversation_id, signal: cancel.signal, onEvent },
      );
      endText();
      stream.event({ event: 'usage', data: askResultJson(result) });
    } catch (error) {
      endText();
      if (!cancel.signal.aborted) {
        const message = describeRunFailure(error);
        if (message === undefined) req.log.error({ err: error }, 'chat run failed');
        // What the model calls made before the failure cost: metered all the same, and told as a finished turn's are.
        const spent = deps.runner.spentBy(error);
        if (spent) stream.event({ event: 'usage', data: spendingJson(spent) });
        stream.event({ event: 'error', data: { code: message === undefined ? 'internal' : 'run_failed', message: message ?? 'the run failed unexpectedly' } });
      }
    }
    await stream.flush();
    if (!res.writableEnded && !res.destroyed) res.end('data: [DONE]\n\n');
  });
  return router;
}
