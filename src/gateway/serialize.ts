import type { BotInfo } from '../bots/index.ts';
import type { ServerCheck, ServerInfo } from '../servers/index.ts';
import type { ApiKeyInfo, AuditEvent, IssuedApiKey, Member, Tenant, UsageTotals } from '../tenancy/index.ts';

/** JSON shapes of the REST API: snake_case, ISO timestamps, never a secret unless just issued. */
export function tenantJson(tenant: Tenant) {
  return { id: tenant.id, slug: tenant.slug, name: tenant.name, created_at: tenant.createdAt.toISOString() };
}

export function keyJson(key: ApiKeyInfo) {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    scopes: key.scopes,
    tools: key.tools,
    user_id: key.userId,
    expires_at: key.expiresAt?.toISOString() ?? null,
    revoked_at: key.revokedAt?.toISOString() ?? null,
    last_used_at: key.lastUsedAt?.toISOString() ?? null,
    replaced_by: key.replacedBy,
    created_at: key.createdAt.toISOString(),
  };
}

/** The one response that carries the secret: right after creation or rotation. */
export function issuedKeyJson(key: IssuedApiKey) {
  return { ...keyJson(key), secret: key.secret };
}

export function memberJson(member: Member) {
  return { user_id: member.userId, email: member.email, role: member.role, created_at: member.createdAt.toISOString() };
}

export function auditEventJson(event: AuditEvent) {
  return {
    id: event.id,
    actor: event.actor,
    action: event.action,
    resource_type: event.resourceType,
    resource_id: event.resourceId,
    before: event.before,
    after: event.after,
    ip: event.ip,
    user_agent: event.userAgent,
    request_id: event.requestId,
    created_at: event.createdAt.toISOString(),
  };
}

/** JSON of a configured server: secrets only as "set". */
export function serverJson(server: ServerInfo) {
  return {
    id: server.id,
    slug: server.slug,
    kind: server.kind,
    config: server.config,
    secrets: server.secrets,
    created_at: server.createdAt.toISOString(),
    updated_at: server.updatedAt.toISOString(),
  };
}

/**
 * JSON of a configured bot: the tenant's Anthropic key only as "set"; `priced: false` flags a model without a price,
 * and `suggested_model` the priced model it most likely misspells.
 */
export function botJson(bot: BotInfo) {
  return {
    id: bot.id,
    slug: bot.slug,
    name: bot.name,
    description: bot.description,
    model: bot.model,
    priced: bot.priced,
    suggested_model: bot.suggestedModel,
    system_prompt: bot.systemPrompt,
    temperature: bot.temperature,
    max_tokens: bot.maxTokens,
    thinking_budget: bot.thinkingBudget,
    servers: bot.servers,
    bots: bot.bots,
    anthropic_api_key: bot.anthropicApiKey,
    created_at: bot.createdAt.toISOString(),
    updated_at: bot.updatedAt.toISOString(),
  };
}

/** Usage sums as the API shows them: snake_case, costs as exact decimal strings. */
export function usageTotalsJson(totals: UsageTotals) {
  return {
    calls: totals.calls,
    input_tokens: totals.inputTokens,
    output_tokens: totals.outputTokens,
    cache_write_tokens: totals.cacheWriteTokens,
    cache_read_tokens: totals.cacheReadTokens,
    cost_usd: totals.costUsd,
    unpriced_calls: totals.unpricedCalls,
  };
}

/** JSON of a server check. */
export function serverCheckJson(check: ServerCheck) {
  return {
    state: check.state,
    tools: check.tools,
    awaiting_approval: check.awaitingApproval,
    duration_ms: check.durationMs,
    ...(check.error !== undefined && { error: check.error }),
    ...(check.withheld && { withheld: check.withheld }),
    ...(check.storage && { storage: { used_bytes: check.storage.usedBytes, limit_bytes: check.storage.limitBytes } }),
  };
}
