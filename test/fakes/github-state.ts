import { createHash } from 'node:crypto';

/** In-memory GitHub data behind the fake REST server; tests seed it and read it back. */
export interface FakeGithubState {
  /** token → login of the user it authenticates. */
  tokens: Map<string, string>;
  /** Logins GitHub knows (assignees must be among them). */
  users: Set<string>;
  repos: FakeRepo[];
  nextId: number;
}

export interface FakeRepo {
  owner: string;
  name: string;
  description: string | null;
  private: boolean;
  /** Logins that can see a private repository besides its owner. */
  collaborators: string[];
  language: string | null;
  stars: number;
  defaultBranch: string;
  branches: Map<string, FakeBranch>;
  /** Branches under branch protection. */
  protectedBranches?: string[];
  /** Issues and pull requests, sharing one number sequence as on GitHub. */
  issues: FakeIssue[];
  createdAt: string;
}

export interface FakeBranch {
  /** path → content; a Uint8Array is binary. */
  files: Map<string, string | Uint8Array>;
  /** Newest first. */
  commits: FakeCommit[];
}

export interface FakeCommit {
  sha: string;
  message: string;
  author: { name: string; email: string; login: string | null };
  date: string;
  paths: string[];
}

export interface FakeIssue {
  id: number;
  number: number;
  title: string;
  body: string | null;
  state: 'open' | 'closed';
  author: string;
  labels: string[];
  assignees: string[];
  comments: FakeComment[];
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  /** Why it was closed or reopened, when someone said; closed without a reason reads as "completed". */
  stateReason?: 'completed' | 'not_planned' | 'reopened' | null;
  pull?: { head: string; base: string; draft: boolean; merged: boolean; headSha: string };
}

export interface FakeComment {
  id: number;
  body: string;
  author: string;
  createdAt: string;
}

export function createFakeGithubState(): FakeGithubState {
  return { tokens: new Map(), users: new Set(), repos: [], nextId: 1000 };
}

/** A fixed clock, so listings are stable: each call is one minute after the previous. */
let clock = Date.parse('2025-01-06T09:00:00Z');
export function fakeNow(): string {
  clock += 60_000;
  return new Date(clock).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function makeCommit(message: string, author: string, paths: string[]): FakeCommit {
  const date = fakeNow();
  const sha = createHash('sha1').update(`${message}\0${date}\0${paths.join(',')}`).digest('hex');
  return { sha, message, author: { name: author, email: `${author}@users.noreply.github.com`, login: author }, date, paths };
}

/** Adds a user that a token authenticates as. */
export function addToken(state: FakeGithubState, token: string, login: string): void {
  state.tokens.set(token, login);
  state.users.add(login);
}

/** Adds a repository whose default branch holds `files` in one initial commit. */
export function addRepo(
  state: FakeGithubState,
  init: { owner: string; name: string; files?: Record<string, string | Uint8Array> } & Partial<
    Pick<FakeRepo, 'description' | 'private' | 'collaborators' | 'language' | 'stars' | 'defaultBranch'>
  >,
): FakeRepo {
  const files = new Map(Object.entries(init.files ?? { 'README.md': `# ${init.name}\n` }));
  const defaultBranch = init.defaultBranch ?? 'main';
  const repo: FakeRepo = {
    owner: init.owner,
    name: init.name,
    description: init.description ?? null,
    private: init.private ?? false,
    collaborators: init.collaborators ?? [],
    language: init.language ?? null,
    stars: init.stars ?? 0,
    defaultBranch,
    branches: new Map([[defaultBranch, { files, commits: [makeCommit('Initial commit', init.owner, [...files.keys()])] }]]),
    issues: [],
    createdAt: fakeNow(),
  };
  state.users.add(init.owner);
  state.repos.push(repo);
  return repo;
}

/** Adds a commit to a branch (creating the branch from `from`, default branch by default). */
export function commitToBranch(
  repo: FakeRepo,
  branch: string,
  change: { message: string; author?: string; files: Record<string, string | Uint8Array>; from?: string },
): FakeCommit {
  let target = repo.branches.get(branch);
  if (!target) {
    const source = repo.branches.get(change.from ?? repo.defaultBranch);
    if (!source) throw new Error(`no branch ${change.from ?? repo.defaultBranch}`);
    target = { files: new Map(source.files), commits: [...source.commits] };
    repo.branches.set(branch, target);
  }
  for (const [path, content] of Object.entries(change.files)) target.files.set(path, content);
  const commit = makeCommit(change.message, change.author ?? repo.owner, Object.keys(change.files));
  target.commits.unshift(commit);
  return commit;
}

/** Adds an issue as if a user had opened it. */
export function addIssue(
  state: FakeGithubState,
  repo: FakeRepo,
  init: Pick<FakeIssue, 'title'> & Partial<Pick<FakeIssue, 'body' | 'state' | 'author' | 'labels' | 'assignees' | 'pull'>>,
): FakeIssue {
  const now = fakeNow();
  const issue: FakeIssue = {
    id: state.nextId++,
    number: repo.issues.length + 1,
    title: init.title,
    body: init.body ?? null,
    state: init.state ?? 'open',
    author: init.author ?? repo.owner,
    labels: init.labels ?? [],
    assignees: init.assignees ?? [],
    comments: [],
    createdAt: now,
    updatedAt: now,
    closedAt: init.state === 'closed' ? now : null,
    ...(init.pull && { pull: init.pull }),
  };
  repo.issues.push(issue);
  return issue;
}

export function findRepo(state: FakeGithubState, owner: string, name: string): FakeRepo | undefined {
  const key = `${owner}/${name}`.toLowerCase();
  return state.repos.find((r) => `${r.owner}/${r.name}`.toLowerCase() === key);
}

/** Whether the user a token authenticates as can see the repository. */
export function canSee(repo: FakeRepo, login: string): boolean {
  return !repo.private || repo.owner === login || repo.collaborators.includes(login);
}

/** A commit-ish (branch name or commit SHA, full or abbreviated) → the branch state at that point. */
export function resolveRef(repo: FakeRepo, ref: string | null): FakeBranch | undefined {
  const branch = repo.branches.get(ref ?? repo.defaultBranch);
  if (branch) return branch;
  if (!ref || !/^[0-9a-f]{7,40}$/.test(ref)) return undefined;
  for (const b of repo.branches.values()) {
    const at = b.commits.findIndex((c) => c.sha.startsWith(ref));
    if (at >= 0) return { files: b.files, commits: b.commits.slice(at) };
  }
  return undefined;
}
