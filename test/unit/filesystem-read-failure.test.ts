import { describe, expect, it } from 'vitest';
import { describeReadFailure } from '../../src/servers/filesystem/file-io.ts';
import { ToolError } from '../../src/servers/tool-source.ts';

/** A system error as Node makes one: its message names the host path, which a result must not repeat. */
function systemError(code: string, errno: number, syscall: string, at: string): Error {
  return Object.assign(new Error(`${code}: failed, ${syscall} '${at}'`), { code, errno, syscall, path: at });
}

describe('describeReadFailure', () => {
  it('words a known filesystem error as the other tools do', () => {
    expect(describeReadFailure(systemError('ENOENT', -2, 'open', '/host/x'), '/top/x')).toBe('No such file or directory: /top/x');
    expect(describeReadFailure(systemError('EISDIR', -21, 'read', '/host/x'), '/top/x')).toMatch(/^\/top\/x is a directory; use list_directory/);
  });

  it('names any other system error by its code and the system’s description, not by its message', () => {
    const eio = describeReadFailure(systemError('EIO', -5, 'read', '/host/secret/x'), '/top/x');
    expect(eio).toBe('Cannot read /top/x: i/o error (EIO).');
    const device = describeReadFailure(systemError('ENXIO', -6, 'open', '/host/secret/x'), '/top/x');
    expect(device).toBe('Cannot read /top/x: no such device or address (ENXIO).');
    // A code the system's table does not describe is named alone.
    expect(describeReadFailure(systemError('ESTALE', -116, 'open', '/host/secret/x'), '/top/x')).toBe(
      'Cannot read /top/x: system error (ESTALE).',
    );
  });

  it('keeps a refusal’s own message and says no more than "unexpected" of anything else', () => {
    expect(describeReadFailure(new ToolError('Access denied: "../x" is outside'), '../x')).toBe('Access denied: "../x" is outside');
    expect(describeReadFailure(new TypeError('cannot read properties of /host/secret'), '/top/x')).toBe('Cannot read /top/x: it failed unexpectedly.');
    expect(describeReadFailure(Object.assign(new Error('/host'), { code: 'ERR_INVALID_ARG_TYPE' }), '/top/x')).toBe(
      'Cannot read /top/x: it failed unexpectedly.',
    );
  });
});
