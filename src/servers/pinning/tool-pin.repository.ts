import { sql } from 'kysely';
import type { Tx } from '../../shared/db.ts';
import type { ToolDefinition } from './tool-definition.ts';

/** A tool's pinned definition and, when the upstream changed it, the change awaiting approval. */
export interface ToolPin {
  toolName: string;
  digest: string;
  definition: ToolDefinition;
  pendingDigest: string | null;
  pendingDefinition: ToolDefinition | null;
  updatedAt: Date;
}

const COLUMNS = ['tool_name', 'digest', 'definition', 'pending_digest', 'pending_definition', 'updated_at'] as const;

function toPin(row: {
  tool_name: string;
  digest: string;
  definition: unknown;
  pending_digest: string | null;
  pending_definition: unknown;
  updated_at: Date;
}): ToolPin {
  return {
    toolName: row.tool_name,
    digest: row.digest,
    definition: row.definition as ToolDefinition,
    pendingDigest: row.pending_digest,
    pendingDefinition: (row.pending_definition ?? null) as ToolDefinition | null,
    updatedAt: row.updated_at,
  };
}

/** The pins of one server, by tool name; all of them, or only `names` when given. */
export async function listToolPins(
  trx: Tx,
  tenantId: string,
  serverId: string,
  options: { names?: readonly string[]; forUpdate?: boolean } = {},
): Promise<ToolPin[]> {
  if (options.names?.length === 0) return [];
  let query = trx
    .selectFrom('tool_pins')
    .select(COLUMNS)
    .where('tenant_id', '=', tenantId)
    .where('server_id', '=', serverId);
  if (options.names) query = query.where('tool_name', 'in', options.names);
  if (options.forUpdate) query = query.forUpdate();
  const rows = await query.orderBy('tool_name').execute();
  return rows.map(toPin);
}

/** How many tools of one server are pinned, and the bytes of their definitions' JSON. */
export async function measureToolPins(trx: Tx, tenantId: string, serverId: string): Promise<{ count: number; bytes: number }> {
  const row = await trx
    .selectFrom('tool_pins')
    .select((eb) => [eb.fn.countAll<string>().as('count'), sql<string>`coalesce(sum(octet_length(definition::text)), 0)`.as('bytes')])
    .where('tenant_id', '=', tenantId)
    .where('server_id', '=', serverId)
    .executeTakeFirstOrThrow();
  return { count: Number(row.count), bytes: Number(row.bytes) };
}

/** Pins a tool seen for the first time; false when another request pinned it first. */
export async function insertToolPin(
  trx: Tx,
  pin: { tenantId: string; serverId: string; toolName: string; digest: string; definition: ToolDefinition },
): Promise<boolean> {
  const rows = await trx
    .insertInto('tool_pins')
    .values({
      tenant_id: pin.tenantId,
      server_id: pin.serverId,
      tool_name: pin.toolName,
      digest: pin.digest,
      definition: JSON.stringify(pin.definition),
    })
    .onConflict((oc) => oc.columns(['server_id', 'tool_name']).doNothing())
    .returning('tool_name')
    .execute();
  return rows.length > 0;
}

/**
 * Records a changed definition as pending when none is, or replaces a
 * different pending one recorded before `replacesBefore`; true when this call
 * recorded it (and so should audit it). An upstream changing a tool at every
 * listing so costs one write per tool per interval, not one per listing.
 */
export async function markToolPending(
  trx: Tx,
  change: { tenantId: string; serverId: string; toolName: string; digest: string; definition: ToolDefinition },
  replacesBefore: Date,
): Promise<boolean> {
  const rows = await trx
    .updateTable('tool_pins')
    .set({ pending_digest: change.digest, pending_definition: JSON.stringify(change.definition), updated_at: new Date() })
    .where('tenant_id', '=', change.tenantId)
    .where('server_id', '=', change.serverId)
    .where('tool_name', '=', change.toolName)
    .where('digest', '!=', change.digest)
    .where((eb) => eb.or([eb('pending_digest', 'is', null), eb.and([eb('pending_digest', '!=', change.digest), eb('updated_at', '<', replacesBefore)])]))
    .returning('tool_name')
    .execute();
  return rows.length > 0;
}

/** Makes a tool's pending definition its pinned one; does nothing when none is pending. */
export async function approveToolPin(trx: Tx, tenantId: string, serverId: string, toolName: string): Promise<void> {
  await trx
    .updateTable('tool_pins')
    .set((eb) => ({
      digest: eb.ref('pending_digest').$notNull(),
      definition: eb.ref('pending_definition'),
      pending_digest: null,
      pending_definition: null,
      updated_at: new Date(),
    }))
    .where('tenant_id', '=', tenantId)
    .where('server_id', '=', serverId)
    .where('tool_name', '=', toolName)
    .where('pending_digest', 'is not', null)
    .execute();
}
