/**
 * A minimal browser for server-rendered pages: a cookie jar, forms posted urlencoded,
 * redirects not followed (tests look at them), and JSON calls that carry the cookies.
 */
export interface PageResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The Set-Cookie headers, as sent. */
  setCookies: string[];
  location: string | null;
}

export interface JsonResponse<T> {
  status: number;
  headers: Headers;
  body: T;
}

/** The value of a hidden (or any) input of a page, by name. */
export function inputValue(html: string, name: string): string | undefined {
  const match = new RegExp(`<input[^>]*name="${name}"[^>]*value="([^"]*)"`).exec(html);
  return match?.[1]?.replaceAll('&amp;', '&').replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>');
}

export class Browser {
  readonly cookies = new Map<string, string>();

  constructor(readonly baseUrl: string) {}

  private cookieHeader(): Record<string, string> {
    return this.cookies.size === 0 ? {} : { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') };
  }

  private remember(response: Response): string[] {
    const setCookies = response.headers.getSetCookie();
    for (const line of setCookies) {
      const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
      const index = pair.indexOf('=');
      const name = pair.slice(0, index);
      const expires = attributes.find((a) => /^expires=/i.test(a));
      const gone = expires !== undefined && new Date(expires.slice(8)).getTime() <= Date.now();
      if (gone || pair.slice(index + 1) === '') this.cookies.delete(name);
      else this.cookies.set(name, pair.slice(index + 1));
    }
    return setCookies;
  }

  async request(method: string, path: string, init: { headers?: Record<string, string>; body?: string } = {}): Promise<PageResponse> {
    const url = path.startsWith('http') ? path : `${this.baseUrl}${path}`;
    const response = await fetch(url, {
      method,
      redirect: 'manual',
      headers: { ...this.cookieHeader(), ...init.headers },
      body: init.body,
    });
    const setCookies = this.remember(response);
    return { status: response.status, headers: response.headers, text: await response.text(), setCookies, location: response.headers.get('location') };
  }

  get(path: string, headers: Record<string, string> = {}): Promise<PageResponse> {
    return this.request('GET', path, { headers });
  }

  /** Posts a form as a browser does: application/x-www-form-urlencoded. */
  post(path: string, fields: Record<string, string>): Promise<PageResponse> {
    return this.request('POST', path, {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  }

  /** A REST call with this browser's cookies (and no API key). */
  async api<T = { error: { code: string; message: string } }>(
    method: string,
    path: string,
    options: { json?: unknown; headers?: Record<string, string> } = {},
  ): Promise<JsonResponse<T>> {
    const response = await this.request(method, path, {
      headers: { ...(options.json !== undefined && { 'content-type': 'application/json' }), ...options.headers },
      ...(options.json !== undefined && { body: JSON.stringify(options.json) }),
    });
    return { status: response.status, headers: response.headers, body: (response.text === '' ? undefined : JSON.parse(response.text)) as T };
  }

  /** Opens the sign-in page and submits it; returns the response to the POST. */
  async login(email: string, password: string, returnTo?: string): Promise<PageResponse> {
    const page = await this.get(returnTo === undefined ? '/login' : `/login?return_to=${encodeURIComponent(returnTo)}`);
    return this.post('/login', {
      email,
      password,
      csrf_token: inputValue(page.text, 'csrf_token') ?? '',
      return_to: inputValue(page.text, 'return_to') ?? '/',
    });
  }
}
