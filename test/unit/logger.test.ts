import { describe, expect, it } from 'vitest';
import { captureLog } from '../support/captured-log.ts';

describe('logger', () => {
  it('redacts credentials in request headers and secret fields', () => {
    const { lines, logger } = captureLog();
    logger.info(
      {
        req: { headers: { authorization: 'Bearer bgk_topsecret', cookie: 'session=abc', 'x-api-key': 'bgk_other' } },
        body: { password: 'hunter2hunter2', token: 'ghp_123', name: 'visible' },
      },
      'request',
    );
    const line = lines.join('');
    expect(line).not.toMatch(/bgk_topsecret|session=abc|bgk_other|hunter2|ghp_123/);
    expect(line).toContain('[redacted]');
    expect(line).toContain('visible');
  });
});
