import type { Db } from '../shared/db.ts';
import { withTenant } from '../shared/db.ts';
import {
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
}

export function createUsageService({ db }: { db: Db }): UsageService {
  return {
    record: (tenantId, usage) => withTenant(db, tenantId, (trx) => insertUsageRecord(trx, tenantId, usage)),
    summarize: (tenantId, filter) => withTenant(db, tenantId, (trx) => summarizeUsage(trx, tenantId, filter)),
  };
}
