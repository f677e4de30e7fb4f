import { lookup } from 'node:dns/promises';
import { realpathSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import path from 'node:path';
import { parseCidrs, type Cidr } from '../shared/cidr.ts';

/** What the operator allows tenants' servers to reach. */
export interface ServerPolicy {
  /** Tenants' own areas live under `{dataDir}/files/{tenant}`. */
  dataDir: string;
  /** Extra absolute directories tenants' filesystem servers may use. */
  fsRoots: readonly string[];
  /** CIDRs that remote servers may resolve to despite being private. */
  allowPrivateNetworks: readonly string[];
  /** Allow-listed stdio commands by name. */
  stdioCommands: Readonly<Record<string, { command: string; args: readonly string[] }>>;
  /** The most servers one tenant may have (`DEFAULT_MAX_SERVERS_PER_TENANT` when absent). */
  maxServersPerTenant?: number;
  /** The most a tenant's own file area may hold, in bytes (`DEFAULT_FS_QUOTA_BYTES` when absent); see area-quota.ts. */
  fsQuotaBytes?: number;
}

/**
 * How many servers a tenant may have unless the operator says otherwise: each
 * can mean an upstream request per aggregate listing, or a process (stdio).
 */
export const DEFAULT_MAX_SERVERS_PER_TENANT = 100;

/** How much a tenant's filesystem servers may write into its own area unless the operator says otherwise: 1 GiB. */
export const DEFAULT_FS_QUOTA_BYTES = 1024 * 1024 * 1024;

// Addresses that are not globally reachable (IANA's special-purpose registries), and IPv6 forms that carry an IPv4 address.
const PRIVATE_RANGES: Cidr[] = [
  ['0.0.0.0', 8, 'ipv4'],
  ['10.0.0.0', 8, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['127.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.0.0.0', 24, 'ipv4'],
  // Documentation (TEST-NET-1, -2, -3), and the retired 6to4 relay anycast.
  ['192.0.2.0', 24, 'ipv4'],
  ['192.88.99.0', 24, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['198.18.0.0', 15, 'ipv4'],
  ['198.51.100.0', 24, 'ipv4'],
  ['203.0.113.0', 24, 'ipv4'],
  ['224.0.0.0', 4, 'ipv4'],
  ['240.0.0.0', 4, 'ipv4'],
  // Unspecified, loopback and IPv4-compatible (::a.b.c.d).
  ['::', 96, 'ipv6'],
  // IPv4-translated (::ffff:0:a.b.c.d), NAT64 (well-known and local-use prefixes), discard-only.
  ['::ffff:0:0:0', 96, 'ipv6'],
  ['64:ff9b::', 96, 'ipv6'],
  ['64:ff9b:1::', 48, 'ipv6'],
  ['100::', 64, 'ipv6'],
  // Teredo and documentation; 6to4, which carries an IPv4 address.
  ['2001::', 32, 'ipv6'],
  ['2001:db8::', 32, 'ipv6'],
  ['2002::', 16, 'ipv6'],
  // Unique local, link-local, the retired site-local, multicast.
  ['fc00::', 7, 'ipv6'],
  ['fe80::', 10, 'ipv6'],
  ['fec0::', 10, 'ipv6'],
  ['ff00::', 8, 'ipv6'],
];

const MAPPED_IPV4 = new BlockList();
MAPPED_IPV4.addSubnet('::ffff:0:0', 96, 'ipv6');

/**
 * The ranges of one family only: a BlockList matches an IPv4 address against
 * an IPv6 range through its IPv4-mapped form, so that allowing `::/0` would
 * otherwise allow every IPv4 address too.
 */
function toBlockList(ranges: readonly Cidr[], family: 'ipv4' | 'ipv6'): BlockList {
  const list = new BlockList();
  for (const [address, prefix, rangeFamily] of ranges) if (rangeFamily === family) list.addSubnet(address, prefix, family);
  return list;
}

const REFUSED = { ipv4: toBlockList(PRIVATE_RANGES, 'ipv4'), ipv6: toBlockList(PRIVATE_RANGES, 'ipv6') };

/**
 * This host's own addresses, every interface's: a service of the host
 * listening on all interfaces is reachable at its public address too, which
 * no range above names.
 */
export function hostAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((entries) => (entries ?? []).map((entry) => entry.address));
}

/**
 * Whether an IP address may be contacted under the policy: one the operator
 * allows (`allowPrivateNetworks`), or else one that is neither private nor
 * reserved nor one of this host's own (`ownAddresses`).
 */
export function isAddressAllowed(address: string, allowPrivateNetworks: readonly string[], ownAddresses: readonly string[] = hostAddresses()): boolean {
  const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
  // IPv4-mapped IPv6 is judged as the IPv4 address it carries.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return isAddressAllowed(mapped, allowPrivateNetworks, ownAddresses);
  // Other spellings of IPv4-mapped addresses (::ffff:7f00:1) are refused outright.
  if (family === 'ipv6' && MAPPED_IPV4.check(address, 'ipv6')) return false;
  if (toBlockList(parseCidrs(allowPrivateNetworks), family).check(address, family)) return true;
  if (REFUSED[family].check(address, family)) return false;
  const own = new BlockList();
  for (const ownAddress of ownAddresses) {
    const ownFamily = isIP(ownAddress) === 6 ? 'ipv6' : 'ipv4';
    if (ownFamily === family) own.addAddress(ownAddress, family);
  }
  return !own.check(address, family);
}

/**
 * Resolves a URL's host and refuses it when any address is private and not
 * allow-listed. Returns a reason, or undefined when the URL may be used.
 */
export async function checkOutboundUrl(url: string, allowPrivateNetworks: readonly string[]): Promise<string | undefined> {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  } catch {
    return `cannot resolve ${host}`;
  }
  const refused = addresses.find((a) => !isAddressAllowed(a, allowPrivateNetworks));
  return refused === undefined
    ? undefined
    : `${host} resolves to ${refused}, a private or reserved address the operator has not allowed (BOTGATE_ALLOW_PRIVATE_NETWORKS)`;
}

/**
 * The directory of a tenant's own files. It is named by slug, which a later
 * tenant may reuse: it is the tenant's only once claimed (see tenant-dirs.ts).
 */
export function tenantArea(policy: ServerPolicy, tenantSlug: string): string {
  return path.join(policy.dataDir, 'files', tenantSlug);
}

function isInside(parent: string, child: string): boolean {
  const relative = path.relative(parent, child);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/** Whether `dir` is or holds a directory of the operator's (`fsRoots`): not the gateway's to move or remove. */
export function holdsOperatorRoot(policy: ServerPolicy, dir: string): boolean {
  const resolved = path.resolve(dir);
  return policy.fsRoots.some((root) => isInside(resolved, path.resolve(root)));
}

/**
 * Whether the gateway makes a filesystem server's missing root: always in the tenant's own area;
 * in an operator's directory only for a server that may write there (a read-only one makes nothing
 * in directories that are not the tenant's).
 */
export function makesFilesystemRoot(policy: ServerPolicy, tenantSlug: string, root: string, readOnly: boolean): boolean {
  return !readOnly || isInside(tenantArea(policy, tenantSlug), root);
}

/**
 * How a filesystem server shows one of its resolved roots to the tenant: a
 * root in the tenant's area as its place there (the area itself is `/`), so
 * that where the operator keeps `DATA_DIR` is never shown; a root in an
 * operator's directory as the absolute path the tenant configured.
 */
export function shownFilesystemRoot(policy: ServerPolicy, tenantSlug: string, root: string): string {
  const area = tenantArea(policy, tenantSlug);
  return isInside(area, root) ? path.posix.join('/', ...path.relative(area, root).split(path.sep)) : root;
}

/**
 * The real path of `dir` as far as it exists: the symbolic links already on
 * its way are followed, the rest is taken as written.
 */
function realPathSoFar(dir: string): string {
  const rest: string[] = [];
  let current = dir;
  for (;;) {
    try {
      return path.join(realpathSync(current), ...rest);
    } catch {
      const parent = path.dirname(current);
      if (parent === current) return dir;
      rest.unshift(path.basename(current));
      current = parent;
    }
  }
}

/** Whether `child` is inside `parent` as written and where symbolic links already there lead. */
function isReallyInside(parent: string, child: string): boolean {
  return isInside(parent, child) && isInside(realPathSoFar(parent), realPathSoFar(child));
}

/**
 * Turns configured filesystem roots into absolute directories: relative roots
 * live in the tenant's area, absolute ones must be inside an operator root,
 * both as written and where symbolic links on their way lead (an operator
 * directory holding a link to `DATA_DIR` must not open other tenants' areas),
 * and neither hold nor lie in `DATA_DIR` (an operator root may hold it).
 * No roots gives the server a directory of its own. Throws naming a bad root.
 */
export function resolveFilesystemRoots(
  policy: ServerPolicy,
  tenantSlug: string,
  serverSlug: string,
  roots: readonly string[] | undefined,
): string[] {
  const area = tenantArea(policy, tenantSlug);
  if (!roots || roots.length === 0) return [path.join(area, serverSlug)];
  return roots.map((root) => {
    if (root.includes('\0')) throw new Error(`root ${JSON.stringify(root)} contains a NUL byte`);
    if (path.isAbsolute(root)) {
      const resolved = path.resolve(root);
      if (!policy.fsRoots.some((allowed) => isReallyInside(path.resolve(allowed), resolved))) {
        throw new Error(`root ${root} is outside the directories the operator allows (BOTGATE_FS_ROOTS)`);
      }
      // An operator directory holding DATA_DIR (or one inside it) would open the database, the key and every tenant's area.
      const [real, data] = [realPathSoFar(resolved), realPathSoFar(path.resolve(policy.dataDir))];
      if (isInside(real, data) || isInside(data, real)) {
        throw new Error(`root ${root} is or holds the gateway's own data directory (DATA_DIR), which no server may use; the operator should list directories outside it in BOTGATE_FS_ROOTS`);
      }
      return resolved;
    }
    const resolved = path.resolve(area, root);
    if (!isReallyInside(area, resolved)) throw new Error(`root ${root} leaves the tenant's own area`);
    return resolved;
  });
}
