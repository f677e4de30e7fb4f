import { sql, type Kysely } from 'kysely';

// Frozen in time: this file imports kysely only and never changes once released.

const APP_ROLE = 'botgate_app';

export async function up(db: Kysely<unknown>): Promise<void> {
  // A conversation with a bot, kept so a later turn can continue it.
  await db.schema
    .createTable('conversations')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    // Cascades: a transcript means nothing without the bot it talked to, and deleting a bot should
    // not leave its users' messages behind. What the conversation cost stays in usage_records.
    .addColumn('bot_id', 'uuid', (c) => c.notNull().references('bots.id').onDelete('cascade'))
    // Who started it: members see only their own conversations.
    .addColumn('principal_type', 'text', (c) => c.notNull())
    .addColumn('principal_id', 'text')
    .addColumn('title', 'text')
    // A model-written summary of the messages up to and including summarized_through_seq.
    .addColumn('summary', 'text')
    .addColumn('summarized_through_seq', 'integer')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // The target of the messages' foreign key, which names the tenant too.
    .addUniqueConstraint('conversations_tenant_id_id_key', ['tenant_id', 'id'])
    .execute();
  // Leads with tenant_id and serves as its index; lists go newest first.
  await sql`create index conversations_tenant_updated_idx on conversations (tenant_id, updated_at)`.execute(db);
  await db.schema.createIndex('conversations_bot_id_idx').on('conversations').column('bot_id').execute();

  // One message of a conversation: Anthropic message content, an array of content blocks.
  await db.schema
    .createTable('conversation_messages')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('conversation_id', 'uuid', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('user', 'assistant')`))
    .addColumn('content', 'jsonb', (c) => c.notNull())
    // The bot run that wrote it; matches usage_records.run_id.
    .addColumn('run_id', 'uuid')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('conversation_messages_conversation_seq_key', ['conversation_id', 'seq'])
    // With the tenant: foreign keys are checked past row-level security, and a message must not
    // join another tenant's conversation even when the application errs.
    .addForeignKeyConstraint(
      'conversation_messages_conversation_fkey',
      ['tenant_id', 'conversation_id'],
      'conversations',
      ['tenant_id', 'id'],
      (fk) => fk.onDelete('cascade'),
    )
    .execute();
  // (conversation_id, seq) unique index serves the foreign key: conversation ids are unique across tenants.
  await db.schema.createIndex('conversation_messages_tenant_id_idx').on('conversation_messages').column('tenant_id').execute();

  for (const table of ['conversations', 'conversation_messages']) {
    await sql.raw(`alter table ${table} enable row level security`).execute(db);
    await sql.raw(`alter table ${table} force row level security`).execute(db);
    await sql
      .raw(
        `create policy tenant_isolation on ${table} to ${APP_ROLE}
           using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
           with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)`,
      )
      .execute(db);
  }
  await sql.raw(`grant select, insert, update, delete on conversations to ${APP_ROLE}`).execute(db);
  // Messages are never edited: appended, read, and deleted with their conversation.
  await sql.raw(`grant select, insert, delete on conversation_messages to ${APP_ROLE}`).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('conversation_messages').ifExists().execute();
  await db.schema.dropTable('conversations').ifExists().execute();
}
