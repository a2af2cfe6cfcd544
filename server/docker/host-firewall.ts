// Keeps lab machines away from the host (docs/design.md §3 "Host"). Docker's internal networks have no
// route out, but the bridge's gateway address (.1 of every /28) is the host itself, so a lab machine
// can reach every host service listening on 0.0.0.0 (the app's port included) through it.
// Packets from a container to a host address go through the host's INPUT chain, never FORWARD, so
// Docker's own isolation rules don't see them: we reject them in a chain of our own, MAILLAB-INPUT,
// jumped to from INPUT and rebuilt (flush + refill) on every start, so it can be replaced cleanly.
// Traffic between environments is routed (FORWARD; Docker 20.10 gives containers on internal networks
// a default route via the gateway all the same) and dropped by Docker's DOCKER-ISOLATION-STAGE-1 rules
// for each internal network (`! -d <subnet> -i br-x -j DROP`). The integration test checks both.
// IPv6 needs no rule: Docker 20.10 sets disable_ipv6=1 in containers on IPv4-only networks.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { isIP } from "node:net";
import { cidrContains, formatCidr, parseCidr, parseIpv4, type Cidr } from "./subnet-pool";

const run = promisify(execFile);

export const HOST_FIREWALL_CHAIN = "MAILLAB-INPUT";
export const DEFAULT_SUBNET_POOL = "10.213.0.0/16";

let labPool: Cidr = parseCidr(DEFAULT_SUBNET_POOL);

/** Sets the pool `isLabAddress` checks against; the EnvironmentManager calls it with its configured pool. */
export function setLabAddressPool(pool: string): void {
  labPool = parseCidr(pool);
}

/**
 * True when a request comes from a lab machine (an address in the lab pool). The HTTP server refuses
 * those. Accepts what `socket.remoteAddress` gives: IPv4, IPv6, IPv4-mapped IPv6 (`::ffff:10.213.0.2`).
 */
export function isLabAddress(ip: string, pool: string | Cidr = labPool): boolean {
  const cidr = typeof pool === "string" ? parseCidr(pool) : pool;
  let address = ip.trim();
  const zone = address.indexOf("%");
  if (zone >= 0) address = address.slice(0, zone);
  address = unmapIpv4(address);
  if (isIP(address) !== 4) return false;
  const value = parseIpv4(address);
  return value !== undefined && cidrContains(cidr, value);
}

/** `::ffff:10.213.0.2`, `0:0:0:0:0:ffff:10.213.0.2` or `::ffff:ad5:2` → `10.213.0.2`; anything else unchanged. */
function unmapIpv4(address: string): string {
  const prefix = "(?:::|(?:0{1,4}:){5})ffff:";
  const dotted = new RegExp(`^${prefix}(\\d{1,3}(?:\\.\\d{1,3}){3})$`, "i").exec(address);
  if (dotted) return dotted[1]!;
  const hex = new RegExp(`^${prefix}([0-9a-f]{1,4}):([0-9a-f]{1,4})$`, "i").exec(address);
  if (!hex) return address;
  const high = parseInt(hex[1]!, 16);
  const low = parseInt(hex[2]!, 16);
  return [high >> 8, high & 255, low >> 8, low & 255].join(".");
}

export interface HostFirewallResult {
  installed: boolean;
  /** Why it was not installed (not root, no iptables, remote engine ...). */
  reason?: string;
}

async function iptables(args: string[], binary: string): Promise<{ ok: boolean; stderr: string }> {
  try {
    await run(binary, ["-w", "5", ...args], { timeout: 15_000 });
    return { ok: true, stderr: "" };
  } catch (error) {
    return { ok: false, stderr: (error as { stderr?: string }).stderr?.trim() || String(error) };
  }
}

async function iptablesOutput(args: string[], binary: string): Promise<string | undefined> {
  try {
    return (await run(binary, ["-w", "5", ...args], { timeout: 15_000 })).stdout.trim();
  } catch {
    return undefined;
  }
}

/** True when DOCKER_HOST points at another machine: our host's firewall then protects nothing. */
export function dockerIsRemote(env: NodeJS.ProcessEnv = process.env): boolean {
  const host = env.DOCKER_HOST;
  return Boolean(host && !host.startsWith("unix://") && !host.startsWith("npipe://"));
}

/**
 * The rules of MAILLAB-INPUT for a lab pool, written as `iptables -S` prints them so the installed set
 * can be compared. Also installed on every Swarm node (./swarm-firewall.ts).
 */
export function hostFirewallRules(pool: string): string[][] {
  const source = formatCidr(parseCidr(pool));
  return [
    // The host talking to itself on a gateway address (10.213.x.1) has that address as source, via lo.
    ["-i", "lo", "-j", "RETURN"],
    ["-s", source, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "RETURN"],
    // REJECT, not DROP: a learner's `telnet 10.213.0.1 3000` fails at once instead of hanging, and
    // hiding the host gains nothing (the gateway address is known to every container anyway).
    ["-s", source, "-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"],
    ["-s", source, "-j", "REJECT", "--reject-with", "icmp-admin-prohibited"],
  ].map((rule) => ["-A", HOST_FIREWALL_CHAIN, ...rule]);
}

/**
 * Installs (idempotently) `INPUT -j MAILLAB-INPUT` and, in MAILLAB-INPUT, a reject of new traffic from
 * the lab pool. Replies to connections the host opened (e.g. a test talking to a container) and the
 * host's own traffic to a gateway address pass.
 * Never throws: returns whether it worked and logs a clear warning if not.
 */
export async function installHostFirewall(
  pool: string,
  { log = console.warn, binary = "iptables" }: { log?: (line: string) => void; binary?: string } = {},
): Promise<HostFirewallResult> {
  const source = formatCidr(parseCidr(pool));
  const fail = (reason: string): HostFirewallResult => {
    log(`[maillab] WARNING: lab machines can reach services on this host (${reason}). ` +
      `Run maillab as root, or add: iptables -I INPUT -s ${source} ! -i lo -m conntrack ! --ctstate RELATED,ESTABLISHED -j REJECT`);
    return { installed: false, reason };
  };
  if (dockerIsRemote()) {
    log(`[maillab] DOCKER_HOST=${process.env.DOCKER_HOST} is remote: block ${source} from reaching that host's services there (INPUT chain).`);
    return { installed: false, reason: "remote Docker engine" };
  }
  if (typeof process.getuid === "function" && process.getuid() !== 0) return fail("not running as root, cannot change iptables");

  const rules = hostFirewallRules(pool);
  const current = await iptablesOutput(["-S", HOST_FIREWALL_CHAIN], binary);
  const installed = current?.split("\n").filter((line) => line.startsWith("-A ")) ?? [];
  if (installed.join("\n") !== rules.map((rule) => rule.join(" ")).join("\n")) {
    // Missing or different (another pool, an older version): create or empty the chain and refill it.
    if (current === undefined) {
      const created = await iptables(["-N", HOST_FIREWALL_CHAIN], binary);
      if (!created.ok && !/exists/i.test(created.stderr)) return fail(`${binary} -N failed: ${created.stderr}`);
    }
    for (const args of [["-F", HOST_FIREWALL_CHAIN], ...rules]) {
      const result = await iptables(args, binary);
      if (!result.ok) return fail(`${binary} ${args.join(" ")}: ${result.stderr}`);
    }
  }
  const jump = ["INPUT", "-j", HOST_FIREWALL_CHAIN];
  if (!(await iptables(["-C", ...jump], binary)).ok) {
    // First in INPUT: a later ACCEPT (e.g. ufw's) must not let lab traffic in first.
    const inserted = await iptables(["-I", "INPUT", "1", "-j", HOST_FIREWALL_CHAIN], binary);
    if (!inserted.ok) return fail(`${binary} -I INPUT: ${inserted.stderr}`);
  }
  return { installed: true };
}

/** Removes the jump and the chain (for operators uninstalling; the app itself leaves them in place). */
export async function removeHostFirewall(binary = "iptables"): Promise<void> {
  while ((await iptables(["-D", "INPUT", "-j", HOST_FIREWALL_CHAIN], binary)).ok) {
    // a rule added twice by hand: remove every copy
  }
  await iptables(["-F", HOST_FIREWALL_CHAIN], binary);
  await iptables(["-X", HOST_FIREWALL_CHAIN], binary);
}
