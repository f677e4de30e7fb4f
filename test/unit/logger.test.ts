import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/shared/logger.ts';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { lines, logger: createLogger({ level: 'info', destination }) };
}

describe('logger', () => {
  it('redacts credentials in request headers and secret fields', () => {
    const { lines, logger } = capture();
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
