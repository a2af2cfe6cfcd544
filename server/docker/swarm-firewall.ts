// The host firewall (./host-firewall.ts, docs/design.md §3 "Host") on every node of a Swarm. The
// environments' overlay networks are internal — no route to a node — but a node is a host like the app's:
// the same MAILLAB-INPUT chain keeps the lab pool away from its services should a lab network ever get a
// way there. Nothing maillab-specific runs on a node for it: through the node's Docker API, a short-lived
// container of the tools image (docker/swarm-tools: iptables) in the node's network namespace, with only
// NET_ADMIN and NET_RAW, writes the chain and exits.
import type Dockerode from "dockerode";
import { HOST_FIREWALL_CHAIN, hostFirewallRules } from "./host-firewall";
import { message, tolerate } from "./env-support";

/** A node's answer: the chain is in place (and with which iptables), or why not. */
export interface NodeFirewallResult {
  installed: boolean;
  detail: string;
}

const q = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`;

/**
 * The script the container runs: the iptables the node's Docker uses (legacy or nf_tables: the one
 * with Docker's chains), the chain emptied and refilled, the jump first in INPUT.
 */
export function nodeFirewallScript(pool: string): string {
  const rules = hostFirewallRules(pool).map((rule) => `"$ipt" -w 5 ${rule.map(q).join(" ")}`);
  return [
    "set -e",
    `if iptables-legacy -S 2>/dev/null | grep -q -- '-N DOCKER'; then ipt=iptables-legacy; else ipt=iptables-nft; fi`,
    `"$ipt" -w 5 -N ${HOST_FIREWALL_CHAIN} 2>/dev/null || true`,
    `"$ipt" -w 5 -F ${HOST_FIREWALL_CHAIN}`,
    ...rules,
    `"$ipt" -w 5 -C INPUT -j ${HOST_FIREWALL_CHAIN} 2>/dev/null || "$ipt" -w 5 -I INPUT 1 -j ${HOST_FIREWALL_CHAIN}`,
    `echo "installed with $ipt"`,
  ].join("\n");
}

/** Pulls `image` on the node unless it is there (the registry's client certificate is the node's business). */
export async function ensureImageOnNode(docker: Dockerode, image: string): Promise<void> {
  try {
    await docker.getImage(image).inspect();
    return;
  } catch {
    // not there: pull
  }
  const stream = await docker.pull(image);
  let failure: string | undefined;
  await new Promise<void>((resolve, reject) =>
    docker.modem.followProgress(
      stream,
      (error: Error | null) => (error ? reject(error) : resolve()),
      (event: { error?: string }) => {
        if (event.error) failure = event.error;
      },
    ),
  );
  if (failure) throw new Error(`pulling ${image}: ${failure}`);
}

/** Installs MAILLAB-INPUT on one node. Never throws: says what happened. */
export async function installNodeFirewall(docker: Dockerode, image: string, pool: string, labels: Record<string, string>): Promise<NodeFirewallResult> {
  let container: Dockerode.Container | undefined;
  try {
    await ensureImageOnNode(docker, image);
    container = await docker.createContainer({
      Image: image,
      User: "0",
      Entrypoint: ["/bin/sh", "-c", nodeFirewallScript(pool)],
      Cmd: [],
      Labels: { ...labels, "maillab.firewall": "1" },
      HostConfig: { NetworkMode: "host", CapDrop: ["ALL"], CapAdd: ["NET_ADMIN", "NET_RAW"], LogConfig: { Type: "json-file", Config: {} } },
    });
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const output = await containerOutput(container);
    return StatusCode === 0 ? { installed: true, detail: output.trim() } : { installed: false, detail: `exit ${StatusCode}: ${output.trim().slice(-500)}` };
  } catch (error) {
    return { installed: false, detail: message(error) };
  } finally {
    if (container) await tolerate(container.remove({ force: true }), [404, 409]).catch(() => undefined);
  }
}

async function containerOutput(container: Dockerode.Container): Promise<string> {
  const raw = (await container.logs({ stdout: true, stderr: true, follow: false })) as Buffer;
  // Without a TTY the log is multiplexed: frames of an 8-byte header (stream, 0, 0, 0, size) and the bytes.
  const parts: Buffer[] = [];
  for (let at = 0; at + 8 <= raw.length; ) {
    const size = raw.readUInt32BE(at + 4);
    parts.push(raw.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  return Buffer.concat(parts).toString("utf8");
}
