import { randomBytes } from 'node:crypto';
import { createGithubSource, type GithubSourceOptions } from '../../src/servers/github/index.ts';
import { createOutboundGuard } from '../../src/servers/outbound.ts';
import { isUnavailableResult, type ToolSource } from '../../src/servers/tool-source.ts';
import { addIssue, addRepo, addToken, commitToBranch, type FakeGithub, type FakeRepo } from './github.ts';

/** A small GitHub world for the github server tests: acme/widgets (public), acme/secret-plans (private), octo/tools. */
export function seedGithub(fake: FakeGithub): { widgets: FakeRepo; secret: FakeRepo; tools: FakeRepo } {
  const { state } = fake;
  const widgets = addRepo(state, {
    owner: 'acme',
    name: 'widgets',
    description: 'Widgets for everyone',
    language: 'TypeScript',
    stars: 42,
    files: {
      'README.md': '# Widgets\n\nBuild widgets fast.\n',
      'src/index.ts': "export function createWidget(name: string) {\n  return { name };\n}\n",
      'src/util/math.ts': 'export const add = (a: number, b: number) => a + b;\n',
      'assets/logo.png': new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00]),
      'data/huge.csv': 'id,value\n'.repeat(120_000),
      'empty.txt': '',
    },
  });
  commitToBranch(widgets, 'feature/login', { message: 'Add login form\n\nWith validation.', author: 'octocat', files: { 'src/login.ts': 'export const login = () => true;\n' } });
  const main = widgets.branches.get('main')!;
  widgets.branches.set('feature/empty', { files: new Map(main.files), commits: [...main.commits] }); // nothing main lacks
  commitToBranch(widgets, 'main', { message: 'Fix math rounding', author: 'hubot', files: { 'src/util/math.ts': 'export const add = (a: number, b: number) => Math.round(a + b);\n' } });
  state.users.add('hubot');

  const crash = addIssue(state, widgets, { title: 'Crash on empty input', body: 'Steps:\n1. Submit an empty form', labels: ['bug'], author: 'hubot', assignees: ['octocat'] });
  crash.comments.push({ id: state.nextId++, body: 'I can reproduce this.', author: 'octocat', createdAt: crash.createdAt });
  addIssue(state, widgets, { title: 'Add dark mode', labels: ['enhancement'], state: 'closed' });
  const headSha = widgets.branches.get('feature/login')!.commits[0]!.sha;
  addIssue(state, widgets, { title: 'Add login form', body: 'Closes #1', author: 'octocat', pull: { head: 'feature/login', base: 'main', draft: false, merged: false, headSha } });

  const secret = addRepo(state, { owner: 'acme', name: 'secret-plans', private: true, description: 'Widgets 2.0', files: { 'plan.md': 'createWidget v2\n' } });
  const tools = addRepo(state, { owner: 'octo', name: 'tools', description: 'Handy widgets toolbox', language: 'Go', stars: 7, files: { 'main.go': 'package main\n' } });
  return { widgets, secret, tools };
}

/** A fresh token the fake accepts. Each source gets its own, so Octokit's per-token write and search queues never make tests wait on each other. */
export function newToken(fake: FakeGithub, login = 'octocat'): string {
  const token = `ghp_${randomBytes(18).toString('hex')}`;
  addToken(fake.state, token, login);
  return token;
}

/** The fake listens on 127.0.0.1, which the operator allows here as BOTGATE_ALLOW_PRIVATE_NETWORKS=127.0.0.0/8 would. */
const loopback = createOutboundGuard({ allowPrivateNetworks: ['127.0.0.0/8'] });

export function sourceFor(fake: FakeGithub, options: Partial<GithubSourceOptions> = {}): { source: ToolSource; token: string } {
  const token = options.token ?? newToken(fake);
  return { source: createGithubSource({ baseUrl: fake.url, retryAfterCapMs: 0, fetch: loopback.fetch, ...options, token }), token };
}

export interface SeenResult {
  text: string;
  isError: boolean;
  /** Marked as GitHub being unreachable (not GitHub refusing): the audit trail's `upstream_unavailable`. */
  unavailable: boolean;
  structured: Record<string, unknown> | undefined;
}

/** Calls a tool and returns what a model would see. */
export async function callTool(source: ToolSource, name: string, args: Record<string, unknown> = {}, signal = new AbortController().signal): Promise<SeenResult> {
  const result = await source.callTool(name, args, { signal, progress: () => Promise.resolve() });
  const text = result.content.map((c) => (c.type === 'text' ? c.text : `[${c.type}]`)).join('\n');
  return {
    text,
    isError: result.isError === true,
    unavailable: isUnavailableResult(result),
    structured: result.structuredContent as Record<string, unknown> | undefined,
  };
}
