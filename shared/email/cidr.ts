/** IPv4 and IPv6 CIDR matching, pure: the machine-open rules name address ranges as data. */

function ipv4(text: string): bigint | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let n = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return null;
    n = (n << 8n) | BigInt(Number(p));
  }
  return n;
}

function ipv6(text: string): bigint | null {
  if (!text.includes(':')) return null;
  let head = text;
  let tailV4: bigint | null = null;
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    tailV4 = ipv4(text.slice(lastColon + 1));
    if (tailV4 === null) return null;
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = head.split('::');
  if (halves.length > 2) return null;
  const left = halves[0] ? halves[0].split(':') : [];
  const right = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - left.length - right.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0) return null;
  const groups = [...left, ...Array(halves.length === 2 ? missing : 0).fill('0'), ...right];
  let n = 0n;
  for (const g of groups) {
    if (!/^[0-9a-f]{1,4}$/i.test(g)) return null;
    n = (n << 16n) | BigInt(parseInt(g, 16));
  }
  if (tailV4 !== null) n = (n & ~0xffffffffn) | tailV4;
  return n;
}

export interface ParsedIp { v: 4 | 6; n: bigint }

export function parseIp(text: string): ParsedIp | null {
  const v4 = ipv4(text.trim());
  if (v4 !== null) return { v: 4, n: v4 };
  const v6 = ipv6(text.trim());
  if (v6 === null) return null;
  // IPv4-mapped (::ffff:a.b.c.d) is the IPv4 address.
  if (v6 >> 32n === 0xffffn) return { v: 4, n: v6 & 0xffffffffn };
  return { v: 6, n: v6 };
}

export interface Cidr { v: 4 | 6; base: bigint; bits: number }

export function parseCidr(text: string): Cidr {
  const [addr, len] = text.split('/');
  const ip = parseIp(addr ?? '');
  const width = ip?.v === 4 ? 32 : 128;
  const bits = len === undefined ? width : Number(len);
  if (!ip || !Number.isInteger(bits) || bits < 0 || bits > width) throw new Error(`Not a CIDR range: ${text}`);
  const shift = BigInt(width - bits);
  return { v: ip.v, base: (ip.n >> shift) << shift, bits };
}

export function inCidr(ip: ParsedIp, range: Cidr): boolean {
  if (ip.v !== range.v) return false;
  const shift = BigInt((ip.v === 4 ? 32 : 128) - range.bits);
  return ip.n >> shift === range.base >> shift;
}
