import type { Request } from 'express';
import { describe, expect, it, vi } from 'vitest';
import { bindPrincipalToLog } from '../../src/gateway/http.ts';
import type { Principal } from '../../src/tenancy/index.ts';
import { captureLog } from '../support/captured-log.ts';

const principal = { tenant: { id: 'tenant-1', slug: 'acme' }, actor: { type: 'api_key', id: 'key-1' } } as unknown as Principal;

function requestWithLogger() {
  const { lines, logger } = captureLog();
  const log = logger.child({ reqId: 'r-1' });
  return { lines, log, req: { log } as unknown as Request };
}

describe('bindPrincipalToLog', () => {
  it('logs through req.log with the tenant and actor, beside what the request logger already bound', () => {
    const { lines, req } = requestWithLogger();
    bindPrincipalToLog(req, principal);
    req.log.info('hello');
    req.log.warn('again');
    const [first, second] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(first).toMatchObject({ msg: 'hello', reqId: 'r-1', tenantId: 'tenant-1', actor: { type: 'api_key', id: 'key-1' } });
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
