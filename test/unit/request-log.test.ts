import http, { type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Request, type Response } from 'express';
import { describe, expect, it, vi } from 'vitest';
import { bindPrincipalToLog } from '../../src/gateway/http.ts';
import { loggedUrl, requestLog } from '../../src/gateway/request-log.ts';
import type { Principal } from '../../src/tenancy/index.ts';
import { captureLog } from '../support/captured-log.ts';

const principal = { tenant: { id: 'tenant-1', slug: 'acme' }, actor: { type: 'api_key', id: 'key-1' } } as unknown as Principal;

function requestWithLogger() {
  const { lines, logger } = captureLog();
  const log = logger.child({ requestId: 'r-1' });
  return { lines, log, req: { log } as unknown as Request };
}

describe('bindPrincipalToLog', () => {
  it('logs through req.log with the tenant and actor, beside what the request logger already bound', () => {
    const { lines, req } = requestWithLogger();
    bindPrincipalToLog(req, principal);
    req.log.info('hello');
    req.log.warn('again');
    const [first, second] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(first).toMatchObject({ msg: 'hello', requestId: 'r-1', tenantId: 'tenant-1', actor: { type: 'api_key', id: 'key-1' } });
    expect(second).toMatchObject({ msg: 'again', tenantId: 'tenant-1' });
  });

  it('makes the child logger only when something logs, and only once', () => {
    const { log, req } = requestWithLogger();
    const child = vi.spyOn(log, 'child');
    bindPrincipalToLog(req, principal);
    expect(child).not.toHaveBeenCalled();
    req.log.info('one');
    req.log.info('two');
    expect(child).toHaveBeenCalledTimes(1);
  });

  it('lets a handler replace req.log, as pino-http’s callers may', () => {
    const { lines, req } = requestWithLogger();
    bindPrincipalToLog(req, principal);
    req.log = req.log.child({ step: 'inner' });
    req.log.info('inner');
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ tenantId: 'tenant-1', step: 'inner' });
  });
});

/** An app behind `requestLog`, listening on loopback; lines go to a captured logger. */
async function loggedApp(routes: (app: express.Express) => void, bindings: (res: ServerResponse) => Record<string, unknown> | undefined = () => undefined) {
  const { logger, entries, lines } = captureLog();
  const app = express();
  app.use(requestLog({ logger, ignore: (req) => req.url === '/healthz', bindings }));
  routes(app);
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, logger, entries, lines, close: () => new Promise((resolve) => server.close(resolve).closeAllConnections()) };
}

const completed = (entries: Array<Record<string, unknown>>) => entries.filter((e) => e['msg'] === 'request completed' || e['msg'] === 'request errored');

describe('requestLog', () => {
  it('logs one line per request when it ends: id, method, URL, status and time, and no header', async () => {
    const app = await loggedApp((a) => a.use('/api', express.Router().get('/me', (_req, res) => void res.status(201).json({}))));
    try {
      const response = await fetch(`${app.url}/api/me?x=1`, { headers: { authorization: 'Bearer bgk_secret-value' } });
      expect(response.status).toBe(201);
      const id = response.headers.get('x-request-id');
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      await vi.waitFor(() => expect(completed(app.entries)).toHaveLength(1));
      const [line] = completed(app.entries);
      expect(line).toMatchObject({ level: 30, msg: 'request completed', requestId: id, req: { method: 'GET', url: '/api/me?x=1' }, res: { statusCode: 201 } });
      expect(line?.['responseTime']).toEqual(expect.any(Number));
      expect(line).not.toHaveProperty('aborted');
      expect(app.lines.join('')).not.toContain('bgk_secret-value');
    } finally {
      await app.close();
    }
  });

  it('keeps a well-formed x-request-id and replaces one that is not', async () => {
    const app = await loggedApp((a) => a.get('/x', (req, res) => void res.json({ id: req.id })));
    try {
      const kept = await fetch(`${app.url}/x`, { headers: { 'x-request-id': 'client-id.42' } });
      expect(kept.headers.get('x-request-id')).toBe('client-id.42');
      expect(await kept.json()).toEqual({ id: 'client-id.42' });
      const replaced = await fetch(`${app.url}/x`, { headers: { 'x-request-id': 'not ok\u00e9' } });
      expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      const tooLong = await fetch(`${app.url}/x`, { headers: { 'x-request-id': 'a'.repeat(129) } });
      expect(tooLong.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await app.close();
    }
  });

  it('logs a 5xx at error level, and adds what `bindings` returns when the request ends', async () => {
    const app = await loggedApp(
      (a) =>
        a.get('/boom', (_req, res) => {
          res.locals['who'] = 'tenant-1';
          res.status(503).end();
        }),
      (res) => {
        const who = (res as Partial<Response>).locals?.['who'] as string | undefined;
        return who === undefined ? undefined : { tenantId: who };
      },
    );
    try {
      expect((await fetch(`${app.url}/boom`)).status).toBe(503);
      await vi.waitFor(() => expect(completed(app.entries)).toHaveLength(1));
      expect(completed(app.entries)[0]).toMatchObject({ level: 50, msg: 'request errored', res: { statusCode: 503 }, tenantId: 'tenant-1' });
    } finally {
      await app.close();
    }
  });

  it('gives an ignored request an id but no line', async () => {
    const app = await loggedApp((a) => a.get('/healthz', (_req, res) => void res.json({ status: 'ok' })));
    try {
      const response = await fetch(`${app.url}/healthz`);
      expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      await fetch(`${app.url}/missing`);
      await vi.waitFor(() => expect(completed(app.entries)).toHaveLength(1));
      expect(completed(app.entries)[0]).toMatchObject({ req: { url: '/missing' }, res: { statusCode: 404 } });
    } finally {
      await app.close();
    }
  });

  it('marks a response the client left before it finished as aborted', async () => {
    const app = await loggedApp((a) =>
      a.get('/stream', (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(': open\n\n');
      }),
    );
    try {
      const controller = new AbortController();
      const response = await fetch(`${app.url}/stream`, { signal: controller.signal });
      expect(response.status).toBe(200);
      controller.abort();
      await vi.waitFor(() => expect(completed(app.entries)).toHaveLength(1));
      expect(completed(app.entries)[0]).toMatchObject({ msg: 'request completed', res: { statusCode: 200 }, aborted: true });
    } finally {
      await app.close();
    }
  });

  it('logs through req.log with the request id, making the child only when something logs', async () => {
    const app = await loggedApp((a) => {
      a.get('/quiet', (_req, res) => void res.end());
      a.get('/loud', (req, res) => {
        req.log.warn('careful');
        res.end();
      });
    });
    const child = vi.spyOn(app.logger, 'child');
    try {
      await fetch(`${app.url}/quiet`);
      expect(child).not.toHaveBeenCalled();
      const loud = await fetch(`${app.url}/loud`);
      expect(child).toHaveBeenCalledTimes(1);
      expect(app.entries.find((e) => e['msg'] === 'careful')).toMatchObject({ level: 40, requestId: loud.headers.get('x-request-id') });
    } finally {
      await app.close();
    }
  });
});

describe('loggedUrl', () => {
  it.each([
    ['/invite/inv_AbC123', '/invite/[redacted]'],
    ['/invite/inv_AbC123?next=%2F', '/invite/[redacted]?next=%2F'],
    ['/oauth/session/end?id_token_hint=eyJ.x.y&state=s1', '/oauth/session/end?id_token_hint=[redacted]&state=s1'],
    ['/callback?code=c0de&state=s', '/callback?code=[redacted]&state=s'],
    ['/x?access_token=t&api%5Fkey=k&Password=p&page=2', '/x?access_token=[redacted]&api%5Fkey=[redacted]&Password=[redacted]&page=2'],
    ['/api/v1/audit?action=tool.call&limit=10', '/api/v1/audit?action=tool.call&limit=10'],
    ['/t/acme/mcp', '/t/acme/mcp'],
    ['/x?%E0%A4%A=1', '/x?%E0%A4%A=1'],
  ])('shows %s as %s', (url, shown) => {
    expect(loggedUrl(url)).toBe(shown);
  });

  it('is what the line shows', async () => {
    const app = await loggedApp((a) => a.get('/invite/:token', (_req, res) => void res.end()));
    try {
      await fetch(`${app.url}/invite/inv_secret-token?token=again`);
      await vi.waitFor(() => expect(completed(app.entries)).toHaveLength(1));
      expect(completed(app.entries)[0]).toMatchObject({ req: { url: '/invite/[redacted]?token=[redacted]' } });
      expect(app.lines.join('')).not.toMatch(/secret-token|again/);
    } finally {
      await app.close();
    }
  });
});

