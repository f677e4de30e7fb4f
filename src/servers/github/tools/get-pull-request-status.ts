import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult } from '../../tool-source.ts';
import type { GithubToolContext } from '../context.ts';
import { count, pullNumberShape, readOnlyAnnotations } from '../format.ts';

/** Where one check stands: passed (or neutral, skipped), failed, or not finished. */
type CheckState = 'success' | 'failure' | 'pending';

interface Check {
  name: string;
  /** A commit status (set through the statuses API) or a check run (GitHub Actions and other apps). */
  kind: 'status' | 'check_run';
  state: CheckState;
  /** GitHub's own word for it: a status's state, a run's conclusion or, unfinished, its status. */
  result: string;
  description: string | null;
  url: string | null;
}

/** The most of each kind read: one page of GitHub's largest. */
const PER_PAGE = 100;

const FAILED_CONCLUSIONS = new Set(['failure', 'timed_out', 'cancelled', 'action_required', 'startup_failure', 'stale']);

function statusState(state: string): CheckState {
  return state === 'success' ? 'success' : state === 'pending' ? 'pending' : 'failure';
}

function runState(status: string, conclusion: string | null): CheckState {
  if (status !== 'completed' || conclusion === null) return 'pending';
  return FAILED_CONCLUSIONS.has(conclusion) ? 'failure' : 'success';
}

/** All the checks together: failed if any failed, else pending if any is unfinished; `none` when nothing reported. */
function overall(checks: readonly Check[]): CheckState | 'none' {
  if (checks.length === 0) return 'none';
  if (checks.some((c) => c.state === 'failure')) return 'failure';
  return checks.some((c) => c.state === 'pending') ? 'pending' : 'success';
}

const MARKS: Record<CheckState, string> = { success: 'passed', failure: 'FAILED', pending: 'pending' };

/** Registers `get_pull_request_status`: whether a pull request's head commit passed its checks. */
export function registerGetPullRequestStatusTool(registry: ToolRegistry, ctx: GithubToolContext): void {
  registry.registerTool(
    {
      name: 'get_pull_request_status',
      title: 'Get pull request checks',
      description:
        "Tells whether a pull request's head commit passed its checks: the commit statuses and check runs (GitHub Actions and " +
        'other CI) reported on it, each passed, failed or pending, and all of them together. Use it before merge_pull_request; ' +
        'a change pushed since restarts the checks.',
      inputSchema: z.object({
        ...ctx.repoShape,
        ...pullNumberShape,
      }),
      annotations: readOnlyAnnotations,
    },
    async (args, context) => {
      const { owner, repo } = ctx.resolveRepo(args);
      const subject = `pull request #${args.pullNumber} in ${owner}/${repo}`;
      const { data: pull } = await ctx.call(context, subject, (request) => ctx.client.rest.pulls.get({ owner, repo, pull_number: args.pullNumber, request }));
      const ref = pull.head.sha;
      const [{ data: combined }, { data: runs }] = await Promise.all([
        ctx.call(context, `the statuses of ${ref.slice(0, 7)} in ${owner}/${repo}`, (request) =>
          ctx.client.rest.repos.getCombinedStatusForRef({ owner, repo, ref, per_page: PER_PAGE, request }),
        ),
        ctx.call(context, `the check runs of ${ref.slice(0, 7)} in ${owner}/${repo}`, (request) =>
          ctx.client.rest.checks.listForRef({ owner, repo, ref, per_page: PER_PAGE, request }),
        ),
      ]);
      const checks: Check[] = [
        ...combined.statuses.map((s) => ({
          name: s.context,
          kind: 'status' as const,
          state: statusState(s.state),
          result: s.state,
          description: s.description,
          url: s.target_url,
        })),
        ...runs.check_runs.map((r) => ({
          name: r.name,
          kind: 'check_run' as const,
          state: runState(r.status, r.conclusion),
          result: r.conclusion ?? r.status,
          description: r.output.title ?? null,
          url: r.html_url,
        })),
      ];
      const state = overall(checks);
      const truncated = combined.total_count + runs.total_count > checks.length;
      const shown = truncated ? ` (the first ${checks.length} shown)` : '';
      const header = `Checks of pull request #${args.pullNumber} in ${owner}/${repo} at ${ref.slice(0, 7)}`;
      const text =
        state === 'none'
          ? `${header}: none reported. The repository may run no CI, or it has not started yet.`
          : `${header}: ${state}, ${count(checks.length, 'check')}${shown}\n` +
            checks.map((c) => `${MARKS[c.state]} ${c.name} (${c.result})${c.description ? `: ${c.description}` : ''}`).join('\n');
      return textResult(text, { owner, repo, number: args.pullNumber, headSha: ref, state, checks, truncated });
    },
  );
}
