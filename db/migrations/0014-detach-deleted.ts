import { sql, type Kysely } from 'kysely';

// Frozen in time: this file imports kysely only and never changes once released.

/**
 * Until this version, deleting a server or bot left the bots attaching it and the keys whose
 * tool restriction named it as they were, so one created later under the same slug was reached
 * through them. Deletions now take such references out; this takes out those earlier deletions
 * left, each change audited as the operator's (an upgrade is theirs). A key left naming nothing
 * keeps an empty restriction, which reaches nothing, never none (null), which would reach all.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // A key's entry names a server (`files`, `files__read_file`), a bot (`bot__notes`), or all bots (`bot`).
  await sql`
    with kept as (
      select k.id, k.tenant_id, k.tools as before,
             array(select entry from unnest(k.tools) with ordinality as t(entry, n)
                    where case when split_part(entry, '__', 1) = 'bot'
                               then position('__' in entry) = 0
                                    or exists (select from bots b where b.tenant_id = k.tenant_id and b.slug = substr(entry, 6))
                               else exists (select from servers s where s.tenant_id = k.tenant_id and s.slug = split_part(entry, '__', 1))
                          end
                    order by n) as after
        from api_keys k
       where k.tools is not null
    ), changed as (
      update api_keys k set tools = kept.after from kept
       where k.id = kept.id and kept.after <> kept.before
      returning k.id, k.tenant_id, kept.before, kept.after
    )
    insert into audit_events (tenant_id, actor_type, action, resource_type, resource_id, before, after)
    select tenant_id, 'operator', 'api_key.update', 'api_key', id::text, jsonb_build_object('tools', before), jsonb_build_object('tools', after)
      from changed`.execute(db);

  await sql`
    with kept as (
      select b.id, b.tenant_id, b.servers as servers_before, b.bots as bots_before,
             coalesce((select jsonb_agg(attached order by n) from jsonb_array_elements(b.servers) with ordinality as t(attached, n)
                        where exists (select from servers s where s.tenant_id = b.tenant_id and s.slug = attached->>'slug')), '[]'::jsonb) as servers_after,
             coalesce((select jsonb_agg(attached order by n) from jsonb_array_elements(b.bots) with ordinality as t(attached, n)
                        where exists (select from bots o where o.tenant_id = b.tenant_id and o.slug = attached #>> '{}')), '[]'::jsonb) as bots_after
        from bots b
    ), changed as (
      update bots b set servers = kept.servers_after, bots = kept.bots_after from kept
       where b.id = kept.id and (kept.servers_after <> kept.servers_before or kept.bots_after <> kept.bots_before)
      returning b.id, b.tenant_id, kept.servers_before, kept.bots_before, kept.servers_after, kept.bots_after
    )
    insert into audit_events (tenant_id, actor_type, action, resource_type, resource_id, before, after)
    select tenant_id, 'operator', 'bot.update', 'bot', id::text,
           jsonb_build_object('servers', servers_before, 'bots', bots_before), jsonb_build_object('servers', servers_after, 'bots', bots_after)
      from changed`.execute(db);
}

/** What was taken out named nothing that exists: there is nothing to put back. */
export async function down(): Promise<void> {}
