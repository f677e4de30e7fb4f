// Reads the suite's per-scenario checks.json files and compares two runs check by check.
import fs from 'node:fs/promises';
import path from 'node:path';

export type CheckStatus = 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO' | 'SKIPPED';

export interface Check {
  id: string;
  status: CheckStatus;
  errorMessage?: string;
  details?: { message?: unknown };
}

/** Check verdicts by scenario, then by check id. */
export type RunResults = Map<string, Map<string, Check>>;

// A check id that repeats within a scenario collapses to its most severe verdict, as the suite's own baseline does.
const SEVERITY: Record<string, number> = { FAILURE: 4, WARNING: 3, SKIPPED: 2, INFO: 1, SUCCESS: 0 };

/** Loads `server-<scenario>-<timestamp>/checks.json` from an output directory of `conformance server -o`. */
export async function readResults(outputDir: string): Promise<RunResults> {
  const results: RunResults = new Map();
  for (const entry of (await fs.readdir(outputDir)).sort()) {
    const scenario = /^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/.exec(entry)?.[1];
    if (scenario === undefined) continue;
    let checks: Check[];
    try {
      checks = JSON.parse(await fs.readFile(path.join(outputDir, entry, 'checks.json'), 'utf8')) as Check[];
    } catch {
      checks = [];
    }
    const byId = results.get(scenario) ?? new Map<string, Check>();
    for (const check of checks) {
      const seen = byId.get(check.id);
      if (!seen || (SEVERITY[check.status] ?? 0) > (SEVERITY[seen.status] ?? 0)) byId.set(check.id, check);
    }
    results.set(scenario, byId);
  }
  return results;
}

export interface CheckDifference {
  id: string;
  gateway: CheckStatus | 'MISSING';
  message: string | undefined;
}

export interface ScenarioComparison {
  scenario: string;
  direct: { passed: number; total: number };
  gateway: { passed: number; total: number };
  /** Checks that pass directly and fail through the gateway, or never ran because its scenario failed. */
  regressions: CheckDifference[];
  /**
   * Checks that pass directly and, through the gateway, were reported as not
   * applicable (INFO or WARNING, or skipped by a scenario with no failure): the
   * suite itself does not count these as failures. Session checks land here,
   * because the gateway serves 2025 clients without sessions.
   */
  notApplicable: CheckDifference[];
  /** Checks that fail directly and pass through the gateway. */
  improvements: string[];
}

const passes = (check: Check | undefined) => check?.status === 'SUCCESS';

/**
 * Methods the gateway deliberately does not offer, by scenario, and why. The
 * suite calls them whether or not the server declares them; the gateway does
 * not declare them, and answers "Method not found" as the protocol requires.
 * Any other failure of these scenarios still counts as a regression.
 */
const UNOFFERED: Record<string, string> = {
  'resources-subscribe':
    'resources/subscribe is not declared to 2025-era clients: they are served without sessions, so updates could not be delivered to them (2026-07-28 clients get them over subscriptions/listen)',
  'resources-unsubscribe': 'resources/unsubscribe is not declared, as resources/subscribe is not',
};

const unoffered = (scenario: string, check: Check | undefined) =>
  check?.status === 'FAILURE' && UNOFFERED[scenario] !== undefined && /Method not found/i.test(messageOf(check) ?? '');

function tally(checks: Map<string, Check> | undefined) {
  const all = [...(checks?.values() ?? [])];
  return { passed: all.filter(passes).length, total: all.length };
}

function messageOf(check: Check | undefined): string | undefined {
  if (check?.errorMessage) return check.errorMessage;
  return typeof check?.details?.message === 'string' ? check.details.message : undefined;
}

/** Compares the gateway run with the direct run, scenario by scenario. */
export function compareRuns(direct: RunResults, gateway: RunResults): ScenarioComparison[] {
  const scenarios = [...new Set([...direct.keys(), ...gateway.keys()])];
  return scenarios.map((scenario) => {
    const d = direct.get(scenario);
    const g = gateway.get(scenario);
    const gatewayChecks = [...(g?.values() ?? [])];
    const scenarioFailed = g === undefined || gatewayChecks.some((check) => check.status === 'FAILURE');
    // What the scenario said instead, for a check it never reported.
    const scenarioNote = messageOf(gatewayChecks.find((check) => !passes(check)));
    const regressions: CheckDifference[] = [];
    const notApplicable: CheckDifference[] = [];
    for (const [id, check] of d ?? []) {
      const other = g?.get(id);
      if (!passes(check) || passes(other)) continue;
      if (unoffered(scenario, other)) {
        notApplicable.push({ id, gateway: 'FAILURE', message: UNOFFERED[scenario] });
        continue;
      }
      const difference = { id, gateway: other?.status ?? 'MISSING', message: messageOf(other) ?? scenarioNote } as const;
      if (other?.status === 'FAILURE' || (other === undefined && scenarioFailed)) regressions.push(difference);
      else notApplicable.push(difference);
    }
    const improvements = gatewayChecks.filter((check) => passes(check) && !passes(d?.get(check.id))).map((check) => check.id);
    return { scenario, direct: tally(d), gateway: tally(g), regressions, notApplicable, improvements };
  });
}

/** Prints one row per scenario, then each regression with the gateway's error message. */
export function printComparison(title: string, rows: ScenarioComparison[]): void {
  const fraction = (t: { passed: number; total: number }) => (t.total === 0 ? '-' : `${t.passed}/${t.total}`);
  const verdict = (row: ScenarioComparison) => {
    const parts = [];
    if (row.regressions.length > 0) parts.push(`WORSE: ${row.regressions.map((r) => r.id).join(', ')}`);
    if (row.notApplicable.length > 0) parts.push(`n/a: ${row.notApplicable.map((r) => r.id).join(', ')}`);
    if (row.improvements.length > 0) parts.push(`better: ${row.improvements.join(', ')}`);
    return parts.length > 0 ? parts.join('; ') : 'same';
  };
  const table = rows.map((row) => [row.scenario, fraction(row.direct), fraction(row.gateway), verdict(row)]);
  const header = ['scenario', 'direct', 'gateway', 'gateway vs direct'];
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 1 || i === 2 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('   ').trimEnd();
  console.log(`\n${title}`);
  console.log(`  ${line(header)}`);
  console.log(`  ${widths.map((w) => '-'.repeat(w)).join('   ')}`);
  for (const row of table) console.log(`  ${line(row)}`);
  const totals = (pick: (r: ScenarioComparison) => { passed: number; total: number }) =>
    rows.reduce((sum, r) => ({ passed: sum.passed + pick(r).passed, total: sum.total + pick(r).total }), { passed: 0, total: 0 });
  console.log(`  checks passed: direct ${fraction(totals((r) => r.direct))}, gateway ${fraction(totals((r) => r.gateway))}`);
  const describe = (mark: string, scenario: string, r: CheckDifference) =>
    console.log(`  ${mark} ${scenario} / ${r.id}: ${r.gateway} through the gateway${r.message ? `: ${r.message.slice(0, 300)}` : ''}`);
  for (const row of rows) for (const r of row.regressions) describe('✗', row.scenario, r);
  for (const row of rows) for (const r of row.notApplicable) describe('·', row.scenario, r);
}
