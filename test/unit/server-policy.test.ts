import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCidrs } from '../../src/shared/cidr.ts';
import { hostAddresses, isAddressAllowed, resolveFilesystemRoots, shownFilesystemRoot, type ServerPolicy } from '../../src/servers/policy.ts';

const policy: ServerPolicy = {
  dataDir: '/srv/botgate',
  fsRoots: ['/shared/projects'],
  allowPrivateNetworks: [],
  stdioCommands: {},
};

describe('outbound address policy', () => {
  it.each(['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '::1', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '0.0.0.0'])(
    'refuses private or reserved %s',
    (address) => {
      expect(isAddressAllowed(address, [])).toBe(false);
    },
  );

  it.each(['8.8.8.8', '140.82.112.3', '2606:4700::1111'])('allows public %s', (address) => {
    expect(isAddressAllowed(address, [])).toBe(true);
  });

  it.each([
    // Documentation ranges (one is this kind of machine's own address) and the retired 6to4 relay.
    '192.0.2.2',
    '198.51.100.7',
    '203.0.113.9',
    '192.88.99.1',
    // IPv6 forms that carry an IPv4 address: IPv4-compatible, IPv4-translated, local-use NAT64, 6to4, Teredo.
    '::127.0.0.1',
    '::a9fe:a9fe',
    '::ffff:0:7f00:1',
    '64:ff9b:1::7f00:1',
    '2002:7f00:1::1',
    '2001::1',
    // Documentation, discard-only, the retired site-local.
    '2001:db8::1',
    '100::1',
    'fec0::1',
  ])('refuses reserved %s', (address) => {
    expect(isAddressAllowed(address, [], [])).toBe(false);
  });

  it("refuses this host's own addresses, which a service listening on all interfaces answers on, unless the operator lists them", () => {
    const own = ['8.8.4.4', '2606:4700::1001'];
    for (const address of ['8.8.4.4', '::ffff:8.8.4.4', '2606:4700::1001']) expect(isAddressAllowed(address, [], own)).toBe(false);
    expect(isAddressAllowed('8.8.8.8', [], own)).toBe(true);
    expect(isAddressAllowed('8.8.4.4', ['8.8.4.0/24'], own)).toBe(true);
    // Without a list given, this host's interfaces are read.
    expect(hostAddresses()).toContain('127.0.0.1');
    for (const address of hostAddresses()) expect(isAddressAllowed(address, [])).toBe(false);
  });

  it("judges an address against the operator's ranges of its own family only: IPv6 ranges do not cover IPv4 through its mapped form", () => {
    for (const allowed of [['::/0'], ['::ffff:0:0/96'], ['::/1']]) {
      for (const address of ['127.0.0.1', '169.254.169.254', '::ffff:127.0.0.1']) expect(isAddressAllowed(address, allowed, [])).toBe(false);
    }
    expect(isAddressAllowed('::1', ['0.0.0.0/0'], [])).toBe(false);
    expect(isAddressAllowed('fd00::1', ['::/0'], [])).toBe(true);
    expect(isAddressAllowed('10.0.0.1', ['0.0.0.0/0'], [])).toBe(true);
  });

  it('allows exactly the ranges the operator lists', () => {
    expect(isAddressAllowed('127.0.0.1', ['127.0.0.0/8'])).toBe(true);
    expect(isAddressAllowed('::ffff:127.0.0.1', ['127.0.0.0/8'])).toBe(true);
    expect(isAddressAllowed('10.0.0.1', ['127.0.0.0/8'])).toBe(false);
  });

  it('reads a lone address as that address alone, so a missing prefix opens nothing more', () => {
    expect(parseCidrs(['127.0.0.1', '::1'])).toEqual([
      ['127.0.0.1', 32, 'ipv4'],
      ['::1', 128, 'ipv6'],
    ]);
    expect(isAddressAllowed('127.0.0.1', ['127.0.0.1'])).toBe(true);
    for (const address of ['127.0.0.2', '169.254.169.254', '10.1.2.3', '192.168.0.1']) {
      expect(isAddressAllowed(address, ['127.0.0.1'])).toBe(false);
    }
  });

  it('names a malformed CIDR', () => {
    expect(() => parseCidrs(['127.0.0.0/33'])).toThrow(/127.0.0.0\/33/);
    expect(() => parseCidrs(['localhost/8'])).toThrow(/localhost/);
    expect(() => parseCidrs(['127.0.0.1/'])).toThrow(/"127.0.0.1\/"/);
  });
});

describe('filesystem roots', () => {
  const area = path.join('/srv/botgate', 'files', 'acme');

  it('gives a server without roots a directory of its own in the tenant area', () => {
    expect(resolveFilesystemRoots(policy, 'acme', 'files', undefined)).toEqual([path.join(area, 'files')]);
  });

  it('puts relative roots in the tenant area and admits operator roots', () => {
    expect(resolveFilesystemRoots(policy, 'acme', 'files', ['docs', '/shared/projects/acme'])).toEqual([
      path.join(area, 'docs'),
      '/shared/projects/acme',
    ]);
  });

  it.each([
    ['../other-tenant', /leaves the tenant/],
    ['docs/../../other', /leaves the tenant/],
    ['/etc', /outside the directories/],
    ['/shared/projects-evil', /outside the directories/],
    ['/shared/projects/../../etc', /outside the directories/],
    ['a\0b', /NUL/],
  ])('refuses %s', (root, message) => {
    expect(() => resolveFilesystemRoots(policy, 'acme', 'files', [root])).toThrow(message);
  });

  it("refuses a root that is, holds or lies in the gateway's data directory, when an operator directory holds it", () => {
    const wide: ServerPolicy = { ...policy, dataDir: '/srv/botgate', fsRoots: ['/srv'] };
    for (const root of ['/srv', '/srv/botgate', '/srv/botgate/files/other-tenant', '/srv/botgate/secret.key', '/srv/./botgate/files/../files']) {
      expect(() => resolveFilesystemRoots(wide, 'acme', 'files', [root])).toThrow(/gateway's own data directory \(DATA_DIR\)/);
    }
    // Beside it, in the same operator directory: admitted.
    expect(resolveFilesystemRoots(wide, 'acme', 'files', ['/srv/projects', '/srv/botgate-archive'])).toEqual(['/srv/projects', '/srv/botgate-archive']);
  });

  it('refuses a root that a symbolic link already there leads out of the operator directory or the tenant area', async () => {
    const base = await mkdtemp(path.join(tmpdir(), 'botgate-roots-'));
    try {
      const linked: ServerPolicy = { ...policy, dataDir: path.join(base, 'data'), fsRoots: [path.join(base, 'shared')] };
      const victimArea = path.join(base, 'data', 'files', 'victim');
      await mkdir(path.join(victimArea, 'notes'), { recursive: true });
      await mkdir(path.join(base, 'data', 'files', 'acme'), { recursive: true });
      await mkdir(path.join(base, 'shared', 'projects'), { recursive: true });
      // Links that other software put there: one in the operator directory to DATA_DIR, one in the tenant's area to another's.
      await symlink(path.join(base, 'data', 'files'), path.join(base, 'shared', 'link'));
      await symlink(victimArea, path.join(base, 'data', 'files', 'acme', 'out'));

      expect(() => resolveFilesystemRoots(linked, 'acme', 'files', [path.join(base, 'shared', 'link', 'victim')])).toThrow(/outside the directories/);
      expect(() => resolveFilesystemRoots(linked, 'acme', 'files', ['out/notes'])).toThrow(/leaves the tenant/);
      // Roots that do not exist yet, under directories that do, are still admitted.
      expect(resolveFilesystemRoots(linked, 'acme', 'files', [path.join(base, 'shared', 'projects', 'new'), 'docs/new'])).toEqual([
        path.join(base, 'shared', 'projects', 'new'),
        path.join(base, 'data', 'files', 'acme', 'docs', 'new'),
      ]);
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});

describe('filesystem roots as tenants see them', () => {
  it('shows a root in the tenant area as its place there, and an operator root as configured', () => {
    const [own, docs, shared] = resolveFilesystemRoots(policy, 'acme', 'files', ['.', 'docs/v1', '/shared/projects/acme']).map((root) =>
      shownFilesystemRoot(policy, 'acme', root),
    );
    expect([own, docs, shared]).toEqual(['/', '/docs/v1', '/shared/projects/acme']);
    expect(shownFilesystemRoot(policy, 'acme', path.join('/srv/botgate/files/acme', 'files'))).toBe('/files');
  });

  it('does not take another tenant’s area, or a name that only starts like the area, for the tenant’s own', () => {
    expect(shownFilesystemRoot(policy, 'acme', '/srv/botgate/files/acme-evil/x')).toBe('/srv/botgate/files/acme-evil/x');
  });
});
