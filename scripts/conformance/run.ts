// `npm run conformance`: the official MCP conformance suite against server-everything,
// once directly and once through the gateway's /t/{tenant}/mcp/servers/{remote} that
// proxies it; then its authorization-server scenarios against the gateway's issuer; then
// two third-party clients against the gateway's /t/{tenant}/mcp: the MCP Inspector's CLI
// (inspector.ts) and web UI (inspector-web.ts), and Claude Code (claude-code.ts).
// Exits non-zero when the gateway fails a check that passes directly, an
// authorization-server check, or a client check.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { printAuthorizationRun, runAuthorizationSuite } from './authorization.ts';
import { compareRuns, printComparison, readResults, type ScenarioComparison } from './compare.ts';
import { CLAUDE_API_KEY, runClaudeCodeChecks, startClaudeApi } from './claude-code.ts';
import { startClaudeCodeClientDocument } from './claude-code-sign-in.ts';
import { printClientChecks } from './client-checks.ts';
import { runInspectorChecks } from './inspector.ts';
import { runInspectorWebChecks } from './inspector-web.ts';
import { operatorCommand, startEverything, startGateway, startHeaderProxy, type Running } from './processes.ts';
import { CLAUDE_CODE_PACKAGE, CONFORMANCE_PACKAGES, INSPECTOR_PACKAGE, NODE_PACKAGE, ensureTooling, type SuitePackage, type Tooling } from './tooling.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CACHE = path.join(ROOT, 'node_modules/.cache/botgate-conformance');
const SUITE_TIMEOUT_MS = 180_000;
const TENANT = 'conformance';
const SERVER = 'everything';

interface SuiteRun {
  title: string;
  suite: SuitePackage;
  args: string[];
}

// The stable suite for the 2025 revisions, and the next one for both revisions the gateway serves.
const RUNS: SuiteRun[] = [
  { title: `conformance ${CONFORMANCE_PACKAGES.stable.version}, default (2025 revisions)`, suite: CONFORMANCE_PACKAGES.stable, args: [] },
  {
    title: `conformance ${CONFORMANCE_PACKAGES.next.version}, --spec-version 2025-11-25`,
    suite: CONFORMANCE_PACKAGES.next,
    args: ['--spec-version', '2025-11-25'],
  },
  {
    title: `conformance ${CONFORMANCE_PACKAGES.next.version}, --spec-version 2026-07-28`,
    suite: CONFORMANCE_PACKAGES.next,
    args: ['--spec-version', '2026-07-28'],
  },
];

/** Runs `conformance server` once; its own exit code only says whether some check failed, so it is not used. */
function runSuite(tooling: Tooling, run: SuiteRun, url: string, outputDir: string): Promise<void> {
  fs.mkdirSync(outputDir, { recursive: true });
  const log = fs.openSync(path.join(outputDir, 'output.txt'), 'w');
  const child = spawn(tooling.node, [tooling.entry(run.suite), 'server', '--url', url, '-o', outputDir, ...run.args], {
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), SUITE_TIMEOUT_MS);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal !== null) reject(new Error(`the suite was killed (${signal}) after ${SUITE_TIMEOUT_MS / 1000} s; see ${outputDir}/output.txt`));
      else if (code !== 0 && code !== 1) reject(new Error(`the suite exited with ${code}; see ${outputDir}/output.txt`));
      else resolve();
    });
  });
}

async function main(): Promise<number> {
  const started = performance.now();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'botgate-conformance-'));
  const running: Running[] = [];
  const stopAll = () => Promise.allSettled(running.splice(0).reverse().map((r) => r.stop()));
  const onSignal = () => void stopAll().then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  let keep = true;
  try {
    const tooling = await ensureTooling(CACHE);
    console.log(`node ${NODE_PACKAGE.version} from npm (${tooling.node}); work directory ${work}`);

    const everything = await startEverything();
    running.push(everything);
    // The Claude API of Claude Code and of the gateway's bots, in the client checks.
    const api = await startClaudeApi();
    running.push({ url: api.url, stop: () => api.close() });
    // Claude Code's client metadata document for its sign-in, on loopback https the gateway trusts.
    const clientDocument = await startClaudeCodeClientDocument();
    running.push(clientDocument);
    const dataDir = path.join(work, 'data');
    const gateway = await startGateway(dataDir, path.join(work, 'gateway.log'), {
      ANTHROPIC_BASE_URL: api.url,
      ANTHROPIC_API_KEY: CLAUDE_API_KEY,
      NODE_EXTRA_CA_CERTS: clientDocument.certFile,
    });
    running.push(gateway);
    await operatorCommand(gateway, 'tenant.create', { slug: TENANT });
    const { key } = await operatorCommand<{ key: { secret: string } }>(gateway, 'key.create', {
      tenant: TENANT,
      name: 'conformance',
      scopes: ['mcp'],
    });
    await operatorCommand(gateway, 'server.create', { tenant: TENANT, slug: SERVER, kind: 'remote', config: { url: everything.url } });
    const proxy = await startHeaderProxy(gateway.url, `Bearer ${key.secret}`);
    running.push(proxy);
    const throughGateway = `${proxy.url}/t/${TENANT}/mcp/servers/${SERVER}`;
    console.log(`direct:  ${everything.url}\ngateway: ${throughGateway} (a header-adding proxy in front of ${gateway.url})`);

    let regressions = 0;
    let notApplicable = 0;
    for (const [index, run] of RUNS.entries()) {
      const directDir = path.join(work, `run-${index}`, 'direct');
      const gatewayDir = path.join(work, `run-${index}`, 'gateway');
      await runSuite(tooling, run, everything.url, directDir);
      await runSuite(tooling, run, throughGateway, gatewayDir);
      const rows: ScenarioComparison[] = compareRuns(await readResults(directDir), await readResults(gatewayDir));
      if (rows.length === 0) throw new Error(`the suite wrote no results; see ${directDir}/output.txt`);
      printComparison(run.title, rows);
      regressions += rows.reduce((sum, row) => sum + row.regressions.length, 0);
      notApplicable += rows.reduce((sum, row) => sum + row.notApplicable.length, 0);
    }

    // The gateway's own authorization server: there is no "direct" run to compare with, every check counts.
    const authorization = await runAuthorizationSuite({
      tooling,
      suite: CONFORMANCE_PACKAGES.next,
      gateway,
      tenant: TENANT,
      outputDir: path.join(work, 'authorization'),
    });
    printAuthorizationRun(`conformance ${CONFORMANCE_PACKAGES.next.version}, authorization --spec-version 2026-07-28 (the gateway's issuer ${gateway.url})`, authorization);
    const authorizationPassed = authorization.checks.filter((check) => check.status === 'SUCCESS').length;
    const authorizationSummary = `authorization server: ${authorizationPassed}/${authorization.checks.length} checks passed`;

    const inspector = await runInspectorChecks({ tooling, gateway, tenant: TENANT, key: key.secret, work });
    printClientChecks(`MCP Inspector ${INSPECTOR_PACKAGE.version} (--cli, Node ${NODE_PACKAGE.version}) against ${gateway.url}/t/${TENANT}/mcp`, inspector);
    const inspectorWeb = await runInspectorWebChecks({ tooling, gateway, tenant: TENANT, work });
    printClientChecks(`MCP Inspector ${INSPECTOR_PACKAGE.version} (web UI, Node ${NODE_PACKAGE.version}) in Chromium, a person signing in to ${gateway.url}/t/${TENANT}/mcp`, inspectorWeb);
    const claudeCode = await runClaudeCodeChecks({ tooling, gateway, api, dataDir, tenant: TENANT, key: key.secret, work, clientMetadataUrl: clientDocument.url });
    printClientChecks(`Claude Code ${CLAUDE_CODE_PACKAGE.version} against ${gateway.url}/t/${TENANT}/mcp (its model: the fake Claude API)`, claudeCode);
    const clients = [...inspector, ...inspectorWeb, ...claudeCode];
    const clientFailures = clients.filter((check) => !check.passed).length;
    const clientSummary = `MCP Inspector and Claude Code: ${clients.length - clientFailures}/${clients.length} checks passed`;

    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const unapplied = notApplicable > 0 ? ` (${notApplicable} reported not applicable through the gateway, marked ·)` : '';
    if (regressions > 0 || authorization.failures.length > 0 || clientFailures > 0) {
      const reasons = [];
      if (regressions > 0) reasons.push(`${regressions} check(s) pass directly against server-everything and fail through the gateway${unapplied}`);
      if (authorization.failures.length > 0) reasons.push(`${authorization.failures.length} authorization-server check(s) failed`);
      if (clientFailures > 0) reasons.push(`${clientFailures} client check(s) failed`);
      console.log(`\nFAILED in ${seconds} s: ${reasons.join('; ')}; ${authorizationSummary}; ${clientSummary}`);
      console.log(`checks.json files and the gateway log are kept in ${work}`);
      return 1;
    }
    console.log(`\nOK in ${seconds} s: every check that passes directly also passes through the gateway${unapplied}; ${authorizationSummary}; ${clientSummary}`);
    keep = false;
    return 0;
  } catch (error) {
    console.error(`conformance run could not complete: ${error instanceof Error ? error.message : String(error)}`);
    console.error(`logs are kept in ${work}`);
    return 2;
  } finally {
    await stopAll();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (!keep) fs.rmSync(work, { recursive: true, force: true });
  }
}

process.exitCode = await main();
