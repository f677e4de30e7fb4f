import { githubError, ok, type FakeRequest, type FakeResponse, type Route } from './github-http.ts';
import { blobSha, contentJson, repoJson } from './github-json.ts';
import { withRepo } from './github-routes.ts';
import { commitToBranch, resolveRef, type FakeCommit, type FakeRepo } from './github-state.ts';

const WEB = 'https://github.com';
const GET_REF_DOC = '/git/refs#get-a-reference';
const CREATE_REF_DOC = '/git/refs#create-a-reference';
const PUT_CONTENTS_DOC = '/repos/contents#create-or-update-file-contents';
const GET_BLOB_DOC = '/git/blobs#get-a-blob';

function stringField(body: unknown, field: string): string | undefined {
  const value = (body as Record<string, unknown> | null)?.[field];
  return typeof value === 'string' ? value : undefined;
}

/** GitHub's answer to a required field left out of a JSON body. */
function notSupplied(field: string, doc: string): FakeResponse {
  return githubError(422, `Invalid request.\n\n"${field}" wasn't supplied.`, doc);
}

/** A branch reference as the git refs API returns it. */
function refJson(api: string, repo: FakeRepo, branch: string, sha: string) {
  const base = `${api}/repos/${repo.owner}/${repo.name}`;
  return {
    ref: `refs/heads/${branch}`,
    node_id: `REF_${Buffer.from(`${repo.owner}/${repo.name}:refs/heads/${branch}`).toString('base64')}`,
    url: `${base}/git/refs/heads/${branch}`,
    object: { sha, type: 'commit', url: `${base}/git/commits/${sha}` },
  };
}

/** The commit half of a contents write: the git commit's own shape, not the one the commits API nests. */
function fileCommitJson(api: string, repo: FakeRepo, c: FakeCommit, parent: FakeCommit | undefined) {
  const base = `${api}/repos/${repo.owner}/${repo.name}`;
  const web = `${WEB}/${repo.owner}/${repo.name}`;
  const person = { date: c.date, name: c.author.name, email: c.author.email };
  return {
    sha: c.sha,
    node_id: `C_${c.sha}`,
    url: `${base}/git/commits/${c.sha}`,
    html_url: `${web}/commit/${c.sha}`,
    author: person,
    committer: person,
    message: c.message,
    tree: { url: `${base}/git/trees/${c.sha}`, sha: c.sha },
    parents: parent ? [{ url: `${base}/git/commits/${parent.sha}`, html_url: `${web}/commit/${parent.sha}`, sha: parent.sha }] : [],
    verification: { verified: false, reason: 'unsigned', signature: null, payload: null, verified_at: null },
  };
}

function getRef(req: FakeRequest, repo: FakeRepo, [ref = '']: string[]): FakeResponse {
  const name = ref.startsWith('heads/') ? ref.slice('heads/'.length) : undefined;
  const head = name === undefined ? undefined : repo.branches.get(name)?.commits[0];
  return name !== undefined && head ? ok(refJson(req.api, repo, name, head.sha)) : githubError(404, 'Not Found', GET_REF_DOC);
}

/** Git's ref name rules (git check-ref-format), which GitHub applies before its own. */
function isValidRefName(ref: string): boolean {
  if (ref === '@' || ref.startsWith('/') || ref.endsWith('/') || ref.endsWith('.')) return false;
  // oxlint-disable-next-line no-control-regex -- control characters are among what git refuses
  if (/[\x00-\x20\x7f~^:?*[\\]|\.\.|\/\/|@\{/.test(ref)) return false;
  return ref.split('/').every((part) => !part.startsWith('.') && !part.endsWith('.lock'));
}

/** Creates a branch as GitHub does: the name checked first, then the commit, then that the name is free. */
function createRef(req: FakeRequest, repo: FakeRepo): FakeResponse {
  const ref = stringField(req.body, 'ref');
  const sha = stringField(req.body, 'sha');
  if (ref === undefined) return notSupplied('ref', CREATE_REF_DOC);
  if (sha === undefined) return notSupplied('sha', CREATE_REF_DOC);
  if (!isValidRefName(ref)) return githubError(422, `${ref} is not a valid ref name.`, CREATE_REF_DOC);
  if (!ref.startsWith('refs/')) return githubError(422, "Reference name must start with 'refs/'.", CREATE_REF_DOC);
  if (!/^refs\/[^/]+\/[^/]/.test(ref)) return githubError(422, 'Reference name must contain at least three slash-separated components.', CREATE_REF_DOC);
  if (sha.length < 40) return githubError(422, `At least 40 characters are required; only ${sha.length} were supplied.`, CREATE_REF_DOC);
  const at = /^[0-9a-f]{40}$/.test(sha) ? resolveRef(repo, sha) : undefined;
  if (!at) return githubError(422, 'Object does not exist', CREATE_REF_DOC);
  // The fake keeps branches only; other refs (tags, notes) fail as an update GitHub cannot make.
  if (!ref.startsWith('refs/heads/')) return githubError(422, 'Reference update failed', CREATE_REF_DOC);
  const name = ref.slice('refs/heads/'.length);
  if (repo.branches.has(name)) return githubError(422, 'Reference already exists', CREATE_REF_DOC);
  // As in git, `a` and `a/b` cannot both be branches: one would be a file and a directory under refs/heads.
  if ([...repo.branches.keys()].some((b) => name.startsWith(`${b}/`) || b.startsWith(`${name}/`))) {
    return githubError(422, 'Reference update failed', CREATE_REF_DOC);
  }
  // The fake keeps no history of contents: a branch made at an older commit starts with the files of the branch holding it.
  repo.branches.set(name, { files: new Map(at.files), commits: [...at.commits] });
  const body = refJson(req.api, repo, name, sha);
  return ok(body, 201, { location: body.url });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The bytes as text when they are UTF-8 without NUL (as the fake's seeded text files are), else as binary. */
function storedContent(bytes: Buffer): string | Uint8Array {
  if (bytes.includes(0)) return new Uint8Array(bytes);
  try {
    return utf8.decode(bytes);
  } catch {
    return new Uint8Array(bytes);
  }
}

/**
 * Writes one file with one commit as GitHub's contents API does: a file that exists is replaced
 * only when `sha` names its current blob. A `sha` for a file that does not exist is refused as a
 * mismatch too, so a caller who expected a file there learns it is gone.
 */
function putContents(req: FakeRequest, repo: FakeRepo, [path = '']: string[]): FakeResponse {
  const message = stringField(req.body, 'message');
  const content = stringField(req.body, 'content');
  if (message === undefined) return notSupplied('message', PUT_CONTENTS_DOC);
  if (content === undefined) return notSupplied('content', PUT_CONTENTS_DOC);
  const base64 = content.replace(/\s/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || base64.length % 4 !== 0) return githubError(422, 'content is not valid Base64', PUT_CONTENTS_DOC);
  const branchName = stringField(req.body, 'branch') ?? repo.defaultBranch;
  const branch = repo.branches.get(branchName);
  if (!branch) return githubError(404, `Branch ${branchName} not found`, PUT_CONTENTS_DOC);
  const current = branch.files.get(path);
  const sha = stringField(req.body, 'sha');
  if (current !== undefined && sha === undefined) return notSupplied('sha', PUT_CONTENTS_DOC);
  if (sha !== undefined && (current === undefined || blobSha(current) !== sha)) return githubError(409, `${path} does not match ${sha}`, PUT_CONTENTS_DOC);

  const file = storedContent(Buffer.from(base64, 'base64'));
  const commit = commitToBranch(repo, branchName, { message, author: req.login, files: { [path]: file } });
  const { entry } = contentJson(req.api, repo, branchName, path, file);
  const gitUrl = `${req.api}/repos/${repo.owner}/${repo.name}/git/blobs/${entry.sha}`;
  const fileJson = { ...entry, git_url: gitUrl, _links: { self: entry.url, git: gitUrl, html: entry.html_url } };
  return ok({ content: fileJson, commit: fileCommitJson(req.api, repo, commit, branch.commits[1]) }, current === undefined ? 201 : 200);
}

/**
 * A blob by its sha, from any branch's files: base64 in JSON, or its bytes alone with the raw media
 * type (`Accept: application/vnd.github.raw`), as GitHub serves blobs up to 100 MB.
 */
function getBlob(req: FakeRequest, repo: FakeRepo, [sha = '']: string[]): FakeResponse {
  const content = [...repo.branches.values()].flatMap((b) => [...b.files.values()]).find((c) => blobSha(c) === sha);
  if (content === undefined) return githubError(404, 'Not Found', GET_BLOB_DOC);
  const bytes = Buffer.from(content);
  if (/application\/vnd\.github(?:\.v3)?\.raw/.test(String(req.headers.accept))) {
    return { status: 200, raw: bytes, headers: { 'content-type': 'application/vnd.github.raw' } };
  }
  const url = `${req.api}/repos/${repo.owner}/${repo.name}/git/blobs/${sha}`;
  const base64 = (bytes.toString('base64').match(/.{1,60}/g) ?? []).join('\n');
  return ok({ sha, node_id: `B_${sha}`, size: bytes.length, url, content: base64, encoding: 'base64' });
}

const R = '^/repos/([^/]+)/([^/]+)';

/** Git data and file-writing routes: branches made from a commit, files created or replaced by a commit. */
export const gitRoutes: Route[] = [
  { method: 'GET', pattern: new RegExp(`${R}$`), handle: withRepo('/repos/repos#get-a-repository', (req, repo) => ok(repoJson(req.api, repo))) },
  { method: 'GET', pattern: new RegExp(`${R}/git/ref/(.+)$`), handle: withRepo(GET_REF_DOC, getRef) },
  { method: 'GET', pattern: new RegExp(`${R}/git/blobs/([0-9a-f]{40})$`), handle: withRepo(GET_BLOB_DOC, getBlob) },
  { method: 'POST', pattern: new RegExp(`${R}/git/refs$`), handle: withRepo(CREATE_REF_DOC, createRef) },
  { method: 'PUT', pattern: new RegExp(`${R}/contents/(.+)$`), handle: withRepo(PUT_CONTENTS_DOC, putContents) },
];
