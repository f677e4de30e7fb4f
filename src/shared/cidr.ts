import { isIP } from 'node:net';

/** An address range: its first address, prefix length and family. */
export type Cidr = [address: string, prefix: number, family: 'ipv4' | 'ipv6'];

/**
 * Parses `10.0.0.0/8`-style CIDRs; a lone address (`127.0.0.1`, `::1`) is
 * that one address. Throws naming the first bad entry: a typo must never
 * widen what it allows (`127.0.0.1/` is not `/0`).
 */
export function parseCidrs(cidrs: readonly string[]): Cidr[] {
  return cidrs.map((cidr) => {
    const [address = '', bits, ...rest] = cidr.trim().split('/');
    const family = isIP(address);
    const longest = family === 4 ? 32 : 128;
    const prefix = bits === undefined ? longest : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
    if (!family || rest.length > 0 || !(prefix >= 0 && prefix <= longest)) {
      throw new Error(`not a CIDR: "${cidr}" (write an address range such as 10.0.0.0/8, or one address such as 10.1.2.3)`);
    }
    return [address, prefix, family === 4 ? 'ipv4' : 'ipv6'];
  });
}
