import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely } from 'kysely';
import type { Database } from '../../src/shared/db-schema.ts';
import { createEmbeddedDialect } from '../../src/shared/pglite-dialect.ts';
import { migrateToLatest } from '../../src/shared/migrate.ts';

/**
 * An embedded database created and migrated once per test run, for tests to
 * start from instead of an empty one: creating an embedded database takes 4-5 s
 * on a slow machine, a copy of this well under one. Tests of the first run
 * itself (the database created and migrated by the gateway or the CLI) start
 * from an empty DATA_DIR instead.
 */
export interface EmbeddedTemplate {
  /** A DATA_DIR whose `pglite` directory holds the migrated database; copied, never opened by tests. */
  dataDir: string;
  /** The same database as a `dumpDataDir` archive, which an in-memory PGlite loads. */
  dump: string;
}

/** Creates the template in a temporary directory; `remove` deletes it. */
export async function createEmbeddedTemplate(): Promise<{ template: EmbeddedTemplate; remove(): Promise<void> }> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'botgate-template-'));
  const dataDir = path.join(root, 'data');
  const dump = path.join(root, 'pglite.tar');
  const remove = () => fs.rm(root, { recursive: true, force: true });
  try {
    await fs.mkdir(path.join(dataDir, 'pglite'), { recursive: true, mode: 0o700 });
    const pglite = await PGlite.create(path.join(dataDir, 'pglite'));
    const db = new Kysely<Database>({ dialect: createEmbeddedDialect(pglite) });
    try {
      await migrateToLatest(db);
      const archive = await pglite.dumpDataDir('none');
      await fs.writeFile(dump, Buffer.from(await archive.arrayBuffer()));
    } finally {
      await db.destroy();
    }
  } catch (error) {
    await remove();
    throw error;
  }
  return { template: { dataDir, dump }, remove };
}

declare module 'vitest' {
  export interface ProvidedContext {
    embeddedTemplate: EmbeddedTemplate;
  }
}
