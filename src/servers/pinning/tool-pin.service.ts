import { withTenant, type Db, type Tx } from '../../shared/db.ts';
import { AppError, notFound } from '../../shared/errors.ts';
import { recordAudit, slugSchema, type RequestContext, type Tenant } from '../../tenancy/index.ts';
import type { NotifyToolsChanged } from '../list-changes.ts';
import { findServerRecord } from '../server.repository.ts';
import { definitionChangeAudit } from './definition-audit.ts';
import { diffDefinitions, type DefinitionChange, type ToolDefinition } from './tool-definition.ts';
import { approveToolPin, listToolPins, type ToolPin } from './tool-pin.repository.ts';
import { INSTRUCTIONS_PIN } from './tool-check.ts';

/** A pinned tool as the API shows it. */
export interface ToolPinInfo {
  name: string;
  /** `pending` when the upstream changed the definition and an admin has not approved the change yet. */
  status: 'pinned' | 'pending';
  sha256: string;
  definition: ToolDefinition;
  pending: { sha256: string; definition: ToolDefinition; changes: DefinitionChange[] } | null;
  updatedAt: Date;
}

export interface ToolPinService {
  /** The pinned tools of a server, pending changes included. */
  list(tenant: Tenant, slug: string): Promise<ToolPinInfo[]>;
  /**
   * Approves the pending definitions of `tools` (every pending one when
   * omitted), auditing each; returns the names approved.
   */
  approve(tenant: Tenant, context: RequestContext, slug: string, tools?: readonly string[]): Promise<string[]>;
}

function toInfo(pin: ToolPin): ToolPinInfo {
  return {
    name: pin.toolName,
    status: pin.pendingDigest === null ? 'pinned' : 'pending',
    sha256: pin.digest,
    definition: pin.definition,
    pending:
      pin.pendingDigest === null || pin.pendingDefinition === null
        ? null
        : {
            sha256: pin.pendingDigest,
            definition: pin.pendingDefinition,
            changes: diffDefinitions(pin.definition, pin.pendingDefinition),
          },
    updatedAt: pin.updatedAt,
  };
}

/** Admins' view of pinned tool definitions, and approval of changed ones. */
export function createToolPinService({
  db,
  notifyToolsChanged,
}: {
  db: Db;
  /** Told after approved definitions are committed: the tools are listed again. */
  notifyToolsChanged?: NotifyToolsChanged;
}): ToolPinService {
  async function serverIdOr404(trx: Tx, tenantId: string, slug: string, forUpdate: boolean): Promise<string> {
    const record = slugSchema.safeParse(slug).success ? await findServerRecord(trx, tenantId, slug, forUpdate) : undefined;
    if (!record) throw notFound('server');
    return record.id;
  }

  return {
    list: (tenant, slug) =>
      withTenant(db, tenant.id, async (trx) => {
        const serverId = await serverIdOr404(trx, tenant.id, slug, false);
        return (await listToolPins(trx, tenant.id, serverId)).map(toInfo);
      }),

    async approve(tenant, context, slug, tools) {
      const approved = await withTenant(db, tenant.id, async (trx) => {
        // Locking the server orders approvals of one server one after another.
        const serverId = await serverIdOr404(trx, tenant.id, slug, true);
        const pins = await listToolPins(trx, tenant.id, serverId, { ...(tools && { names: [...new Set(tools)] }), forUpdate: true });
        const pending = pins.filter((pin) => pin.pendingDigest !== null);
        if (tools) {
          const missing = [...new Set(tools)].filter((name) => !pending.some((pin) => pin.toolName === name));
          if (missing.length > 0) {
            throw new AppError('validation_failed', `tools: no pending definition change for ${missing.map((n) => `"${n}"`).join(', ')}`);
          }
        }
        for (const pin of pending) {
          await approveToolPin(trx, tenant.id, serverId, pin.toolName);
          await recordAudit(trx, tenant.id, context, {
            action: 'tool.definition_approved',
            resourceType: 'server',
            resourceId: serverId,
            ...definitionChangeAudit(
              slug,
              pin.toolName,
              { sha256: pin.digest, definition: pin.definition },
              { sha256: pin.pendingDigest, definition: pin.pendingDefinition },
            ),
          });
        }
        return pending.map((pin) => pin.toolName);
      });
      // Instructions are not a listed tool: a handshake reads them anew, and no list changed.
      if (approved.some((name) => name !== INSTRUCTIONS_PIN)) notifyToolsChanged?.(tenant.id, slug);
      return approved;
    },
  };
}
