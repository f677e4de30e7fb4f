import type { IncomingHttpHeaders } from 'node:http';
import type { FakeGithubState } from './github-state.ts';

/** Request and response types and helpers shared by the fake's route files. */

export interface FakeRequest {
  method: string;
  /** Decoded path, without the query. */
  path: string;
  query: URLSearchParams;
  body: unknown;
  /** Login of the user the token authenticates as. */
  login: string;
  /** The fake's base URL, for `url` fields and `Link` headers. */
  api: string;
  headers: IncomingHttpHeaders;
}

export interface FakeResponse {
  status: number;
  body?: unknown;
  /** Sent as is instead of `body` as JSON, with the content type in `headers`. */
  raw?: Uint8Array;
  headers?: Record<string, string>;
}

export type Route = { method: string; pattern: RegExp; handle: (req: FakeRequest, params: string[], state: FakeGithubState) => FakeResponse };

/** GitHub's error body. */
export function githubError(status: number, message: string, doc: string, errors?: unknown[]): FakeResponse {
  return { status, body: { message, documentation_url: `https://docs.github.com/rest${doc}`, status: String(status), ...(errors && { errors }) } };
}

export function validationFailed(doc: string, errors: unknown[]): FakeResponse {
  return githubError(422, 'Validation Failed', doc, errors);
}

/** One page of `items` per `per_page`/`page`, with GitHub's `Link` header. */
export function paginate(req: FakeRequest, items: unknown[]): { page: unknown[]; headers: Record<string, string> } {
  const perPage = Math.min(Number(req.query.get('per_page') ?? 30) || 30, 100);
  const page = Math.max(Number(req.query.get('page') ?? 1) || 1, 1);
  const last = Math.max(Math.ceil(items.length / perPage), 1);
  const link = (p: number, rel: string) => {
    const q = new URLSearchParams(req.query);
    q.set('page', String(p));
    return `<${req.api}${req.path}?${q.toString()}>; rel="${rel}"`;
  };
  const links = [...(page < last ? [link(page + 1, 'next'), link(last, 'last')] : []), ...(page > 1 ? [link(1, 'first'), link(page - 1, 'prev')] : [])];
  return { page: items.slice((page - 1) * perPage, page * perPage), headers: links.length > 0 ? { link: links.join(', ') } : {} };
}

export function ok(body: unknown, status = 200, headers?: Record<string, string>): FakeResponse {
  return { status, body, ...(headers && { headers }) };
}

