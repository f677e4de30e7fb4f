import type { Db } from '../shared/db.ts';
import { withTenant } from '../shared/db.ts';
import {
  conversationUsage,
  insertUsageRecord,
  summarizeUsage,
  type UsageFilter,
  type UsageGroup,
  type UsageRecordInput,
  type UsageTotals,
} from './usage.repository.ts';

export interface UsageSummary {
  groups: UsageGroup[];
  total: UsageTotals;
}

/** Metering: one record per model call, and sums of them. */
export interface UsageService {
  /** Appends the record of one model call; returns its id. */
  record(tenantId: string, usage: UsageRecordInput): Promise<string>;
  summarize(tenantId: string, filter: UsageFilter): Promise<UsageSummary>;
  /** A conversation's calls and those of every bot its runs called, however deep. */
  forConversation(tenantId: string, conversationId: string): Promise<UsageTotals>;
}

export function createUsageService({ db }: { db: Db }): UsageService {
  return {
    record: (tenantId, usage) => withTenant(db, tenantId, (trx) => insertUsageRecord(trx, tenantId, usage)),
    summarize: (tenantId, filter) => withTenant(db, tenantId, (trx) => summarizeUsage(trx, tenantId, filter)),
    forConversation: (tenantId, conversationId) => withTenant(db, tenantId, (trx) => conversationUsage(trx, tenantId, conversationId)),
  };
}
