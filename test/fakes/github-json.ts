import { createUnifiedDiff } from '../../src/servers/filesystem/diff.ts';
import { createHash } from 'node:crypto';
import type { FakeComment, FakeCommit, FakeIssue, FakeRepo } from './github-state.ts';

/** GitHub's wire shapes for the fake's data: the fields Octokit types declare, with GitHub's nesting. */

const WEB = 'https://github.com';
let userIds = new Map<string, number>();

export function userJson(api: string, login: string) {
  if (!userIds.has(login)) userIds.set(login, 100 + userIds.size);
  const id = userIds.get(login)!;
  return {
    login,
    id,
    node_id: Buffer.from(`04:User${id}`).toString('base64'),
    avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
    url: `${api}/users/${login}`,
    html_url: `${WEB}/${login}`,
    type: 'User',
    site_admin: false,
  };
}

/** Resets user ids between fakes so payloads are stable. */
export function resetUserIds(): void {
  userIds = new Map();
}

export function repoJson(api: string, r: FakeRepo) {
  const full = `${r.owner}/${r.name}`;
  return {
    id: Number.parseInt(createHash('sha1').update(full).digest('hex').slice(0, 8), 16),
    node_id: Buffer.from(`010:Repository${full}`).toString('base64'),
    name: r.name,
    full_name: full,
    private: r.private,
    owner: userJson(api, r.owner),
    html_url: `${WEB}/${full}`,
    description: r.description,
    fork: false,
    url: `${api}/repos/${full}`,
    created_at: r.createdAt,
    updated_at: r.createdAt,
    pushed_at: r.createdAt,
    stargazers_count: r.stars,
    watchers_count: r.stars,
    language: r.language,
    forks_count: 0,
    open_issues_count: r.issues.filter((i) => i.state === 'open').length,
    default_branch: r.defaultBranch,
    visibility: r.private ? 'private' : 'public',
    score: 1,
  };
}

function labelJson(api: string, r: FakeRepo, name: string) {
  return { id: name.length, node_id: `LA_${name}`, url: `${api}/repos/${r.owner}/${r.name}/labels/${encodeURIComponent(name)}`, name, color: 'ededed', default: false, description: null };
}

export function issueJson(api: string, r: FakeRepo, i: FakeIssue) {
  const base = `${api}/repos/${r.owner}/${r.name}`;
  return {
    id: i.id,
    node_id: `I_${i.id}`,
    url: `${base}/issues/${i.number}`,
    repository_url: base,
    comments_url: `${base}/issues/${i.number}/comments`,
    html_url: `${WEB}/${r.owner}/${r.name}/${i.pull ? 'pull' : 'issues'}/${i.number}`,
    number: i.number,
    state: i.state,
    state_reason: i.stateReason ?? (i.state === 'closed' ? 'completed' : null),
    title: i.title,
    body: i.body,
    user: userJson(api, i.author),
    labels: i.labels.map((l) => labelJson(api, r, l)),
    assignee: i.assignees[0] ? userJson(api, i.assignees[0]) : null,
    assignees: i.assignees.map((a) => userJson(api, a)),
    milestone: null,
    locked: false,
    active_lock_reason: null,
    comments: i.comments.length,
    ...(i.pull && {
      pull_request: {
        url: `${base}/pulls/${i.number}`,
        html_url: `${WEB}/${r.owner}/${r.name}/pull/${i.number}`,
        diff_url: `${WEB}/${r.owner}/${r.name}/pull/${i.number}.diff`,
        patch_url: `${WEB}/${r.owner}/${r.name}/pull/${i.number}.patch`,
        merged_at: i.pull.merged ? i.closedAt : null,
      },
    }),
    closed_at: i.closedAt,
    created_at: i.createdAt,
    updated_at: i.updatedAt,
    author_association: i.author === r.owner ? 'OWNER' : 'NONE',
  };
}

export function commentJson(api: string, r: FakeRepo, i: FakeIssue, c: FakeComment) {
  const base = `${api}/repos/${r.owner}/${r.name}`;
  return {
    id: c.id,
    node_id: `IC_${c.id}`,
    url: `${base}/issues/comments/${c.id}`,
    html_url: `${WEB}/${r.owner}/${r.name}/${i.pull ? 'pull' : 'issues'}/${i.number}#issuecomment-${c.id}`,
    issue_url: `${base}/issues/${i.number}`,
    body: c.body,
    user: userJson(api, c.author),
    created_at: c.createdAt,
    updated_at: c.createdAt,
    author_association: c.author === r.owner ? 'OWNER' : 'NONE',
  };
}

/** A pull request; `detail` adds the fields only the single-pull endpoints return. */
export function pullJson(api: string, r: FakeRepo, i: FakeIssue, detail: { commits: number; files: number } | undefined) {
  const pull = i.pull!;
  const base = `${api}/repos/${r.owner}/${r.name}`;
  const branchJson = (ref: string, sha: string) => ({ label: `${r.owner}:${ref}`, ref, sha, user: userJson(api, r.owner), repo: repoJson(api, r) });
  const baseSha = r.branches.get(pull.base)?.commits[0]?.sha ?? '';
  // An open pull request follows its head branch, as on GitHub; a closed one keeps the head it closed at.
  const headSha = i.state === 'open' ? (r.branches.get(pull.head)?.commits[0]?.sha ?? pull.headSha) : pull.headSha;
  return {
    url: `${base}/pulls/${i.number}`,
    id: i.id,
    node_id: `PR_${i.id}`,
    html_url: `${WEB}/${r.owner}/${r.name}/pull/${i.number}`,
    diff_url: `${WEB}/${r.owner}/${r.name}/pull/${i.number}.diff`,
    issue_url: `${base}/issues/${i.number}`,
    number: i.number,
    state: i.state,
    locked: false,
    title: i.title,
    user: userJson(api, i.author),
    body: i.body,
    labels: i.labels.map((l) => labelJson(api, r, l)),
    milestone: null,
    created_at: i.createdAt,
    updated_at: i.updatedAt,
    closed_at: i.closedAt,
    merged_at: pull.merged ? i.closedAt : null,
    merge_commit_sha: null,
    assignee: null,
    assignees: i.assignees.map((a) => userJson(api, a)),
    requested_reviewers: [],
    head: branchJson(pull.head, headSha),
    base: branchJson(pull.base, baseSha),
    draft: pull.draft,
    author_association: i.author === r.owner ? 'OWNER' : 'NONE',
    ...(detail && {
      merged: pull.merged,
      mergeable: pull.merged ? null : true,
      mergeable_state: pull.merged ? 'unknown' : 'clean',
      comments: i.comments.length,
      review_comments: 0,
      commits: detail.commits,
      additions: detail.files * 3,
      deletions: detail.files,
      changed_files: detail.files,
    }),
  };
}

export function commitJson(api: string, r: FakeRepo, c: FakeCommit, parent: FakeCommit | undefined) {
  const base = `${api}/repos/${r.owner}/${r.name}`;
  const person = { name: c.author.name, email: c.author.email, date: c.date };
  return {
    sha: c.sha,
    node_id: `C_${c.sha}`,
    commit: { author: person, committer: person, message: c.message, tree: { sha: c.sha, url: `${base}/git/trees/${c.sha}` }, url: `${base}/git/commits/${c.sha}`, comment_count: 0 },
    url: `${base}/commits/${c.sha}`,
    html_url: `${WEB}/${r.owner}/${r.name}/commit/${c.sha}`,
    comments_url: `${base}/commits/${c.sha}/comments`,
    author: c.author.login ? userJson(api, c.author.login) : null,
    committer: c.author.login ? userJson(api, c.author.login) : null,
    parents: parent ? [{ sha: parent.sha, url: `${base}/commits/${parent.sha}`, html_url: `${WEB}/${r.owner}/${r.name}/commit/${parent.sha}` }] : [],
  };
}

/** Git's blob id for content, as the contents and search APIs report it. */
export function blobSha(content: string | Uint8Array): string {
  const bytes = Buffer.from(content);
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

/** A content entry for a file (with its bytes) or a directory (content undefined). */
export function contentJson(api: string, r: FakeRepo, ref: string, path: string, content: string | Uint8Array | undefined) {
  const name = path.split('/').pop() ?? path;
  const html = `${WEB}/${r.owner}/${r.name}/${content === undefined ? 'tree' : 'blob'}/${ref}/${path}`;
  const self = `${api}/repos/${r.owner}/${r.name}/contents/${path}?ref=${ref}`;
  const common = { name, path, url: self, html_url: html, git_url: null, _links: { self, git: null, html } };
  if (content === undefined) return { entry: { type: 'dir', size: 0, sha: blobSha(path), download_url: null, ...common }, bytes: undefined };
  const bytes = Buffer.from(content);
  const download = `https://raw.githubusercontent.com/${r.owner}/${r.name}/${ref}/${path}`;
  return { entry: { type: 'file', size: bytes.length, sha: blobSha(content), download_url: download, ...common }, bytes };
}

/** One entry of a pull request's files, as GitHub lists them: a text file's `patch` is its diff's hunks, a binary file has none. */
export function pullFileJson(r: FakeRepo, head: string, filename: string, before: string | Uint8Array | undefined, after: string | Uint8Array | undefined) {
  const status = before === undefined ? 'added' : after === undefined ? 'removed' : 'modified';
  const text = (content: string | Uint8Array | undefined) => (typeof content === 'string' ? content : '');
  const binary = before instanceof Uint8Array || after instanceof Uint8Array;
  const hunks = binary ? [] : createUnifiedDiff(filename, text(before), text(after)).split('\n').slice(2, -1);
  const additions = hunks.filter((line) => line.startsWith('+')).length;
  const deletions = hunks.filter((line) => line.startsWith('-')).length;
  const blob = blobSha(after ?? before ?? '');
  return {
    sha: blob,
    filename,
    status,
    additions,
    deletions,
    changes: additions + deletions,
    blob_url: `${WEB}/${r.owner}/${r.name}/blob/${head}/${filename}`,
    raw_url: `${WEB}/${r.owner}/${r.name}/raw/${head}/${filename}`,
    contents_url: `https://api.github.com/repos/${r.owner}/${r.name}/contents/${filename}?ref=${head}`,
    ...(!binary && hunks.length > 0 && { patch: hunks.join('\n') }),
  };
}
