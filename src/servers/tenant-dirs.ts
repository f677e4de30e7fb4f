import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { withAuthenticator, type Db, type Tx } from '../shared/db.ts';
import { notFound } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import type { Tenant } from '../tenancy/index.ts';
import { createTurns } from './filesystem/index.ts';
import { holdsOperatorRoot, type ServerPolicy } from './policy.ts';
import { lockTenantDir, tenantExists } from './tenant-dir.repository.ts';

/** Where under `DATA_DIR` each tenant has a directory named by its slug: its file area, and its stdio servers' homes. */
export type TenantDirKind = 'files' | 'stdio';

const KINDS: readonly TenantDirKind[] = ['files', 'stdio'];

// Beside the tenants' directories, never in one, so no tenant's tool reaches them; no slug starts
// with a dot. `.owners/{slug}` holds the id of the tenant whose directory `{slug}` is, and stays
// after the tenant is deleted, so that whatever is written there late is still known as not
// the next tenant's. `.removing` holds directories on their way out (what a crash left there is
// removed at start-up); `.unclaimed` those no tenant's slug names, for the operator to check.
// `.deleted` is where earlier versions put both kinds: it is left to the operator.
const OWNERS = '.owners';
const DELETED = '.removing';
const UNCLAIMED = '.unclaimed';
const EARLIER_ASIDE = '.deleted';

/**
 * Tenants' directories are named by slug, and a slug is free again once its
 * tenant is deleted: a directory becomes a tenant's only once its owner
 * record says so, and what a deleted tenant left under the slug is moved out
 * first. This holds whichever node deleted the tenant, and whether or not it
 * removed the directories (it may have crashed first).
 */
export interface TenantDirs {
  /**
   * The tenant's directory of `kind` (not made here), once it is the
   * tenant's: a directory without an owner record predates the records and is
   * taken as the slug's tenant's; one of another owner (a deleted tenant) is
   * moved out, then removed. 404 when the tenant was deleted meanwhile.
   */
  claim(kind: TenantDirKind, tenant: Tenant): Promise<string>;
  /** Removes the deleted tenant's directories; call once nothing of the tenant runs on this node any more. */
  release(tenantId: string): Promise<void>;
  /**
   * At start-up, for what no node settled: removes directories of deleted
   * tenants, records a tenant as the owner of its slug's directory that has no
   * record, moves a directory without a record that no tenant's slug names
   * to `.unclaimed` (logged; the operator removes it), and removes what a
   * removal cut short left in `.removing`.
   */
  settle(listTenants: () => Promise<Tenant[]>): Promise<void>;
}

const isMissing = (error: unknown) => (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';

async function unlessMissing<T, M>(read: () => Promise<T>, missing: M): Promise<T | M> {
  try {
    return await read();
  } catch (error) {
    if (isMissing(error)) return missing;
    throw error;
  }
}

const suffix = () => randomBytes(6).toString('hex');

/**
 * The tenants' directories under `policy.dataDir`. Settling who owns one takes
 * turns in this process and, when other nodes share the database (and so the
 * files), an advisory lock there too.
 */
export function createTenantDirs({
  db,
  policy,
  logger,
  sharedDatabase = false,
}: {
  db: Db;
  policy: ServerPolicy;
  logger: Logger;
  sharedDatabase?: boolean;
}): TenantDirs {
  const inTurn = createTurns();
  const base = (kind: TenantDirKind) => path.resolve(policy.dataDir, kind);
  const ownerFile = (kind: TenantDirKind, slug: string) => path.join(base(kind), OWNERS, slug);

  const readOwner = (kind: TenantDirKind, slug: string) =>
    unlessMissing(async () => (await readFile(ownerFile(kind, slug), 'utf8')).trim(), undefined);

  async function writeOwner(kind: TenantDirKind, slug: string, tenantId: string): Promise<void> {
    const owners = path.join(base(kind), OWNERS);
    await mkdir(owners, { recursive: true, mode: 0o700 });
    // Written aside, then renamed over the record: a crash leaves the old record or the new one, whole.
    const written = path.join(owners, `.${slug}.${suffix()}`);
    await writeFile(written, `${tenantId}\n`, { mode: 0o600 });
    await rename(written, ownerFile(kind, slug));
  }

  /** Moves the slug's directory out of its place at once (a rename) into `into`; undefined when there is none. */
  async function moveAside(kind: TenantDirKind, slug: string, into = DELETED): Promise<string | undefined> {
    const dir = path.join(base(kind), slug);
    if (holdsOperatorRoot(policy, dir)) {
      throw new Error(`${dir} is or holds a directory of BOTGATE_FS_ROOTS, which the gateway does not move; move it out of DATA_DIR`);
    }
    const aside = path.join(base(kind), into, `${slug}.${suffix()}`);
    await mkdir(path.dirname(aside), { recursive: true, mode: 0o700 });
    return unlessMissing(() => rename(dir, aside).then(() => aside), undefined);
  }

  async function remove(aside: string, context: Record<string, unknown>): Promise<void> {
    await rm(aside, { recursive: true, force: true, maxRetries: 2 });
    logger.info({ ...context, removed: aside }, "a deleted tenant's directory was removed");
  }

  /** Runs `fn` while no other claim, release or settling of the same directory runs, on any node sharing the database. */
  function settling<T>(kind: TenantDirKind, slug: string, fn: (trx: Tx) => Promise<T>): Promise<T> {
    return inTurn(() =>
      withAuthenticator(db, async (trx) => {
        if (sharedDatabase) await lockTenantDir(trx, `${kind}/${slug}`);
        return fn(trx);
      }),
    );
  }

  /** The slugs with a directory or an owner record, each with its record and whether the directory is there. */
  async function onDisk(kind: TenantDirKind) {
    const visible = (names: string[]) => names.filter((name) => !name.startsWith('.'));
    const dirs = new Set(visible(await unlessMissing(() => readdir(base(kind)), [])));
    const recorded = visible(await unlessMissing(() => readdir(path.join(base(kind), OWNERS)), []));
    const slugs = [...new Set([...dirs, ...recorded])];
    return Promise.all(slugs.map(async (slug) => ({ kind, slug, owner: await readOwner(kind, slug), hasDir: dirs.has(slug) })));
  }

  /**
   * Removes what is left in `.removing`: only directories already moved out of
   * every tenant's reach go there, so whatever a stop cut short is finished
   * here (another node removing the same at once is harmless). What earlier
   * versions moved into `.deleted` may hold unclaimed directories the operator
   * has not checked yet: it is only reported.
   */
  async function sweepDeleted(kind: TenantDirKind): Promise<void> {
    const earlier = path.join(base(kind), EARLIER_ASIDE);
    const waiting = await unlessMissing(() => readdir(earlier), []);
    if (waiting.length > 0) {
      logger.warn({ kind, dir: earlier, count: waiting.length }, 'directories an earlier version moved aside wait there: remove them once checked');
    }
    const deleted = path.join(base(kind), DELETED);
    for (const name of await unlessMissing(() => readdir(deleted), [])) {
      const context = { kind, slug: name.slice(0, name.lastIndexOf('.')) };
      await remove(path.join(deleted, name), context).catch((error: unknown) =>
        logger.warn({ ...context, err: error }, "removing a deleted tenant's directory failed"),
      );
    }
  }

  return {
    async claim(kind, tenant) {
      const dir = path.join(base(kind), tenant.slug);
      // The usual case needs no lock: a directory is the tenant's for as long as the tenant exists.
      if ((await readOwner(kind, tenant.slug)) === tenant.id) return dir;
      const left = await settling(kind, tenant.slug, async (trx) => {
        // A deleted tenant claims nothing: its slug may be another's by now.
        if (!(await tenantExists(trx, tenant.id))) throw notFound('tenant');
        const owner = await readOwner(kind, tenant.slug);
        if (owner === tenant.id) return undefined;
        // Slugs are unique among tenants: another owner is a deleted tenant, whose directory was not removed.
        const aside = owner === undefined ? undefined : await moveAside(kind, tenant.slug);
        if (owner === undefined && (await unlessMissing(() => lstat(dir), undefined))) {
          logger.info({ tenantId: tenant.id, kind, dir }, 'a tenant directory without an owner record predates the records: it is taken as its slug’s tenant’s');
        }
        await writeOwner(kind, tenant.slug, tenant.id);
        return aside === undefined ? undefined : { aside, owner };
      });
      if (left) {
        const context = { tenantId: tenant.id, kind, slug: tenant.slug, deletedTenantId: left.owner };
        logger.warn(context, "a deleted tenant's directory was still under the slug: it was moved out before the new tenant's use");
        remove(left.aside, context).catch((error: unknown) => logger.warn({ ...context, err: error, aside: left.aside }, "removing a deleted tenant's directory failed"));
      }
      return dir;
    },

    async release(tenantId) {
      await Promise.all(
        KINDS.map(async (kind) => {
          const owned = (await onDisk(kind)).filter((found) => found.owner === tenantId);
          for (const { slug } of owned) {
            const aside = await settling(kind, slug, async () => ((await readOwner(kind, slug)) === tenantId ? moveAside(kind, slug) : undefined));
            if (aside) await remove(aside, { tenantId, kind, slug });
          }
        }),
      );
    },

    async settle(listTenants) {
      // Already out of every tenant's reach: removed meanwhile, so that a large leftover does not hold up the start.
      void Promise.all(KINDS.map(sweepDeleted)).catch((error: unknown) => logger.warn({ err: error }, 'removing what a stop left on its way out failed'));
      // The disk first, then the tenants: a directory or record seen here was made for a tenant the list shows, unless it was deleted.
      const found = (await Promise.all(KINDS.map(onDisk))).flat();
      const tenants = await listTenants();
      const ids = new Set(tenants.map((tenant) => tenant.id));
      const bySlug = new Map(tenants.map((tenant) => [tenant.slug, tenant]));
      for (const { kind, slug, owner, hasDir } of found) {
        if (!hasDir || (owner !== undefined && ids.has(owner))) continue;
        const context = { kind, slug, ...(owner !== undefined && { deletedTenantId: owner }) };
        try {
          const aside = await settling(kind, slug, async () => {
            // Settled meanwhile by a claim.
            if ((await readOwner(kind, slug)) !== owner) return undefined;
            const tenant = bySlug.get(slug);
            if (owner === undefined && tenant) {
              await writeOwner(kind, slug, tenant.id);
              return undefined;
            }
            return moveAside(kind, slug, owner === undefined ? UNCLAIMED : DELETED);
          });
          if (aside && owner !== undefined) {
            remove(aside, context).catch((error: unknown) => logger.warn({ ...context, err: error, aside }, "removing a deleted tenant's directory failed"));
          } else if (aside) logger.warn({ ...context, movedTo: aside }, 'a directory that no tenant’s slug names, without an owner record, was moved aside: remove it once checked');
        } catch (error) {
          logger.warn({ ...context, err: error }, 'settling a tenant directory failed');
        }
      }
    },
  };
}
