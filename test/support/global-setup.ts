/** Says once, visibly, when the PostgreSQL half of the integration suite will not run. */
export default function setup(): void {
  if (!process.env['TEST_DATABASE_URL']) {
    process.stderr.write(
      '\nNOTICE: TEST_DATABASE_URL is unset, so integration tests run on PGlite only; ' +
        'the PostgreSQL runs are skipped. Set it (e.g. postgres://postgres@127.0.0.1:5432/postgres) to run them.\n\n',
    );
  }
}
