// Hands out one small IPv4 subnet per environment from a configurable pool (docs/design.md §3 "Addresses").
// Docker's default address pools give each network a /16../20 and run out after ~30 networks;
// explicit /28s from e.g. 10.213.0.0/16 give 4096 environments.
// Pure bookkeeping: the caller seeds it with the subnets Docker already uses (so allocation
// survives an app restart) and retries with the next subnet if Docker still reports an overlap.

/** A /28 holds network, gateway (.1), mail (.2), partner (.3) and leaves room; smaller is not possible with a gateway plus two hosts and a broadcast address. */
export const ENVIRONMENT_PREFIX = 28;

export interface Cidr {
  /** Network address as an unsigned 32-bit integer. */
  base: number;
  prefix: number;
}

export function parseIpv4(ip: string): number | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

function blockSize(prefix: number): number {
  return 2 ** (32 - prefix);
}

/** Parses `a.b.c.d/n`; throws with a message naming the bad value. The address must be the network address. */
export function parseCidr(cidr: string): Cidr {
  const match = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(cidr.trim());
  const base = match ? parseIpv4(match[1]!) : undefined;
  const prefix = match ? Number(match[2]) : NaN;
  if (base === undefined || !(prefix >= 0 && prefix <= 32)) throw new Error(`not an IPv4 CIDR: "${cidr}" (expected e.g. 10.213.0.0/16)`);
  if (base % blockSize(prefix) !== 0) throw new Error(`"${cidr}" is not a network address (host bits set)`);
  return { base, prefix };
}

export function formatCidr({ base, prefix }: Cidr): string {
  return `${formatIpv4(base)}/${prefix}`;
}

export function cidrContains(cidr: Cidr, ip: number): boolean {
  return ip >= cidr.base && ip < cidr.base + blockSize(cidr.prefix);
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.base < b.base + blockSize(b.prefix) && b.base < a.base + blockSize(a.prefix);
}

/** Host address `offset` inside a subnet: 1 = gateway, 2 = mail, 3 = partner. */
export function hostAddress(subnet: string, offset: number): string {
  return formatIpv4(parseCidr(subnet).base + offset);
}

export class SubnetPool {
  readonly pool: Cidr;
  private readonly slots: number;
  /** Slot indexes in use (by us or by any other Docker network overlapping the pool). */
  private readonly used = new Set<number>();
  /** Next-fit cursor: a just-released subnet is not handed out again at once (stale ARP/conntrack entries). */
  private cursor = 0;

  constructor(pool: string) {
    this.pool = parseCidr(pool);
    if (this.pool.prefix > ENVIRONMENT_PREFIX) throw new Error(`subnet pool ${pool} is smaller than one /${ENVIRONMENT_PREFIX}`);
    this.slots = blockSize(this.pool.prefix) / blockSize(ENVIRONMENT_PREFIX);
  }

  get size(): number {
    return this.slots;
  }

  get inUse(): number {
    return this.used.size;
  }

  /** Marks every slot that `cidr` overlaps as used (any Docker network, ours or not). Ignores subnets outside the pool and non-IPv4 values. */
  markUsed(cidr: string): void {
    let parsed: Cidr;
    try {
      parsed = parseCidr(cidr);
    } catch {
      return; // IPv6 or malformed: cannot overlap an IPv4 pool
    }
    if (!cidrsOverlap(parsed, this.pool)) return;
    const slot = blockSize(ENVIRONMENT_PREFIX);
    const start = Math.max(parsed.base, this.pool.base);
    const end = Math.min(parsed.base + blockSize(parsed.prefix), this.pool.base + blockSize(this.pool.prefix));
    for (let ip = start - ((start - this.pool.base) % slot); ip < end; ip += slot) this.used.add((ip - this.pool.base) / slot);
  }

  /** Takes the next free /28, or throws when the pool is exhausted. */
  allocate(): string {
    for (let i = 0; i < this.slots; i++) {
      const slot = (this.cursor + i) % this.slots;
      if (this.used.has(slot)) continue;
      this.used.add(slot);
      this.cursor = (slot + 1) % this.slots;
      return formatCidr({ base: this.pool.base + slot * blockSize(ENVIRONMENT_PREFIX), prefix: ENVIRONMENT_PREFIX });
    }
    throw new Error(`subnet pool ${formatCidr(this.pool)} is exhausted (${this.slots} environments); configure a larger pool`);
  }

  /** Takes a given /28 of the pool (rebuilding an environment with its old subnet); false if taken or not one of ours. */
  take(cidr: string): boolean {
    const slot = this.slotOf(cidr);
    if (slot === undefined || this.used.has(slot)) return false;
    this.used.add(slot);
    return true;
  }

  /** Returns a subnet handed out by `allocate()` or `take()`. */
  release(cidr: string): void {
    const slot = this.slotOf(cidr);
    if (slot !== undefined) this.used.delete(slot);
  }

  private slotOf(cidr: string): number | undefined {
    let parsed: Cidr;
    try {
      parsed = parseCidr(cidr);
    } catch {
      return undefined;
    }
    if (parsed.prefix !== ENVIRONMENT_PREFIX || !cidrContains(this.pool, parsed.base)) return undefined;
    return (parsed.base - this.pool.base) / blockSize(ENVIRONMENT_PREFIX);
  }
}
