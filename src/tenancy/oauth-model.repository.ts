import { sql } from 'kysely';
import type { Tx } from '../shared/db.ts';

/** A stored model as oidc-provider's adapter hands it back: its payload, `consumed` set once consumed. */
export type StoredPayload = Record<string, unknown>;

/** What an upsert stores besides the payload; taken from the payload by the caller. */
export interface ModelIndexes {
  grantId: string | null;
  userCode: string | null;
  uid: string | null;
  /** Seconds from now; undefined for models that do not expire (registered clients). */
  expiresIn: number | undefined;
}

const epochSeconds = (date: Date) => Math.floor(date.getTime() / 1000);

function withConsumed(row: { payload: unknown; consumed_at: Date | null }): StoredPayload {
  const payload = row.payload as StoredPayload;
  return row.consumed_at === null ? payload : { ...payload, consumed: epochSeconds(row.consumed_at) };
}

/** Inserts or replaces one model; a replaced model keeps whether it was consumed. */
export async function upsertModel(trx: Tx, kind: string, id: string, payload: StoredPayload, indexes: ModelIndexes): Promise<void> {
  const expiresAt = indexes.expiresIn === undefined ? null : sql<Date>`now() + make_interval(secs => ${indexes.expiresIn})`;
  const values = {
    payload: JSON.stringify(payload),
    grant_id: indexes.grantId,
    user_code: indexes.userCode,
    uid: indexes.uid,
    expires_at: expiresAt,
  };
  await trx
    .insertInto('oauth_models')
    .values({ kind, id, ...values })
    .onConflict((oc) => oc.columns(['kind', 'id']).doUpdateSet(values))
    .execute();
}

/** A model that has not expired, or undefined. */
export async function findModel(trx: Tx, kind: string, id: string): Promise<StoredPayload | undefined> {
  const row = await trx
    .selectFrom('oauth_models')
    .select(['payload', 'consumed_at'])
    .where('kind', '=', kind)
    .where('id', '=', id)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)]))
    .executeTakeFirst();
  return row ? withConsumed(row) : undefined;
}

/** A model found by a secondary index (a session's uid, a device flow's user code). */
export async function findModelBy(trx: Tx, kind: string, column: 'uid' | 'user_code', value: string): Promise<StoredPayload | undefined> {
  const row = await trx
    .selectFrom('oauth_models')
    .select(['payload', 'consumed_at'])
    .where('kind', '=', kind)
    .where(column, '=', value)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)]))
    .executeTakeFirst();
  return row ? withConsumed(row) : undefined;
}

/**
 * Marks a model consumed. Returns false when it already was (or is gone): two
 * redemptions of one code racing each other, of which only one may win.
 */
export async function consumeModel(trx: Tx, kind: string, id: string): Promise<{ consumed: boolean; grantId: string | null }> {
  const updated = await trx
    .updateTable('oauth_models')
    .set({ consumed_at: sql<Date>`now()` })
    .where('kind', '=', kind)
    .where('id', '=', id)
    .where('consumed_at', 'is', null)
    .returning('grant_id')
    .executeTakeFirst();
  if (updated) return { consumed: true, grantId: updated.grant_id };
  const existing = await trx.selectFrom('oauth_models').select('grant_id').where('kind', '=', kind).where('id', '=', id).executeTakeFirst();
  return { consumed: false, grantId: existing?.grant_id ?? null };
}

export async function destroyModel(trx: Tx, kind: string, id: string): Promise<{ grantId: string | null } | undefined> {
  const row = await trx.deleteFrom('oauth_models').where('kind', '=', kind).where('id', '=', id).returning('grant_id').executeTakeFirst();
  return row && { grantId: row.grant_id };
}

/** Deletes the models of one kind issued under a grant (codes, refresh tokens). */
export async function revokeModelsByGrant(trx: Tx, kind: string, grantId: string): Promise<number> {
  const result = await trx.deleteFrom('oauth_models').where('kind', '=', kind).where('grant_id', '=', grantId).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Deletes a grant and everything issued under it. */
export async function destroyGrant(trx: Tx, grantId: string): Promise<void> {
  await trx
    .deleteFrom('oauth_models')
    .where((eb) => eb.or([eb.and([eb('kind', '=', 'Grant'), eb('id', '=', grantId)]), eb('grant_id', '=', grantId)]))
    .execute();
}

/**
 * A model that has not expired and whose grant exists and has not expired
 * either, in one query: an access token ends with its grant, whatever revoked
 * or expired it.
 */
export async function findModelWithActiveGrant(trx: Tx, kind: string, id: string): Promise<StoredPayload | undefined> {
  const row = await trx
    .selectFrom('oauth_models as m')
    .select(['m.payload', 'm.consumed_at'])
    .where('m.kind', '=', kind)
    .where('m.id', '=', id)
    .where((eb) => eb.or([eb('m.expires_at', 'is', null), eb('m.expires_at', '>', sql<Date>`now()`)]))
    .where((eb) =>
      eb.exists(
        eb
          .selectFrom('oauth_models as g')
          .select('g.id')
          .where('g.kind', '=', 'Grant')
          .whereRef('g.id', '=', 'm.grant_id')
          .where((inner) => inner.or([inner('g.expires_at', 'is', null), inner('g.expires_at', '>', sql<Date>`now()`)])),
      ),
    )
    .executeTakeFirst();
  return row ? withConsumed(row) : undefined;
}

/** Deletes models that expired before now; returns how many. */
export async function deleteExpiredModels(trx: Tx): Promise<number> {
  const result = await trx.deleteFrom('oauth_models').where('expires_at', '<', sql<Date>`now()`).executeTakeFirst();
  return Number(result.numDeletedRows);
}
