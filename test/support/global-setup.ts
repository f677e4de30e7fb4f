import type { TestProject } from 'vitest/node';
import { createEmbeddedTemplate } from './embedded-template.ts';

/**
 * Says once, visibly, when the PostgreSQL half of the integration suite will
 * not run; creates the run's migrated embedded database (see embedded-template.ts).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (!process.env['TEST_DATABASE_URL']) {
    process.stderr.write(
      '\nNOTICE: TEST_DATABASE_URL is unset, so integration tests run on PGlite only; ' +
        'the PostgreSQL runs are skipped. Set it (e.g. postgres://postgres@127.0.0.1:5432/postgres) to run them.\n\n',
    );
  }
  const made = await createEmbeddedTemplate();
  project.provide('embeddedTemplate', made.template);
  return () => made.remove();
}
