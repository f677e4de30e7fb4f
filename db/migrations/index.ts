import type { Migration } from 'kysely/migration';
import * as foundation from './0001-foundation.ts';
import * as servers from './0002-servers.ts';
import * as keyToolRestrictions from './0003-key-tool-restrictions.ts';
import * as usage from './0004-usage.ts';
import * as bots from './0005-bots.ts';
import * as conversations from './0006-conversations.ts';
import * as usageByConversation from './0007-usage-by-conversation.ts';
import * as sessionsInvitations from './0008-sessions-invitations.ts';
import * as oauth from './0009-oauth.ts';
import * as botThinking from './0010-bot-thinking.ts';
import * as tenantDeletions from './0011-tenant-deletions.ts';
import * as heldCallAnswers from './0012-held-call-answers.ts';
import * as fileAreaUse from './0013-file-area-use.ts';
import * as detachDeleted from './0014-detach-deleted.ts';
import * as passwordChosen from './0015-password-chosen.ts';

/** Every migration, by name; names sort in the order they apply. */
export const migrations: Record<string, Migration> = {
  '0001-foundation': foundation,
  '0002-servers': servers,
  '0003-key-tool-restrictions': keyToolRestrictions,
  '0004-usage': usage,
  '0005-bots': bots,
  '0006-conversations': conversations,
  '0007-usage-by-conversation': usageByConversation,
  '0008-sessions-invitations': sessionsInvitations,
  '0009-oauth': oauth,
  '0010-bot-thinking': botThinking,
  '0011-tenant-deletions': tenantDeletions,
  '0012-held-call-answers': heldCallAnswers,
  '0013-file-area-use': fileAreaUse,
  '0014-detach-deleted': detachDeleted,
  '0015-password-chosen': passwordChosen,
};
