// Test support for Swarm mode (server/docker/swarm-*.test.ts, bench): the development Swarm of
// scripts/dev-swarm.sh — brought up here when it is not (CI: a clean machine), and taken down again
// only by whoever brought it up — and a few things tests do to its nodes.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type Dockerode from "dockerode";
import type { SwarmOptions } from "./swarm-cluster";

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL("../../scripts/dev-swarm.sh", import.meta.url));

export interface DevSwarm {
  swarm: SwarmOptions;
  subnetPool: string;
  /** This process ran `up`: it runs `down` at the end. */
  startedHere: boolean;
}

/** The `export K=V` lines of `dev-swarm.sh up|env`. */
export function parseExports(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^export ([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

async function script(...args: string[]): Promise<string> {
  // `up` builds and pushes images and starts engines: minutes on a clean machine.
  const { stdout } = await run("bash", [SCRIPT, ...args], { timeout: 15 * 60_000, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/** The development Swarm, up (started now if it was not). Fails loudly when it cannot be had. */
export async function ensureDevSwarm(): Promise<DevSwarm> {
  const wasUp = await script("env").then(
    () => true,
    () => false,
  );
  // `up` also when it was up: it pushes images that changed since (idempotent, seconds).
  const env = parseExports(await script("up"));
  const { MAILLAB_SWARM_MANAGER: manager, MAILLAB_SWARM_TLS_DIR: tlsDir, MAILLAB_REGISTRY: registry, MAILLAB_SUBNET_POOL: subnetPool } = env;
  if (!manager || !tlsDir || !registry || !subnetPool) throw new Error(`dev-swarm.sh up printed no complete configuration: ${JSON.stringify(env)}`);
  return { swarm: { manager, tlsDir, registry }, subnetPool, startedHere: !wasUp };
}

export async function releaseDevSwarm(devSwarm: DevSwarm | undefined): Promise<void> {
  if (devSwarm?.startedHere) await script("down");
}

/** A node's engine dies (kill-node) or comes back (start-node): a lost node. */
export async function devSwarmNode(action: "kill-node" | "start-node", node: string): Promise<void> {
  await script(action, node);
}

/** Sets a node's availability (drain: Swarm stops its tasks and places nothing new there). */
export async function setAvailability(manager: Dockerode, nodeId: string, availability: "active" | "drain"): Promise<void> {
  const node = manager.getNode(nodeId);
  const info = (await node.inspect()) as { Version: { Index: number }; Spec: Record<string, unknown> };
  // docker-modem: `_query` becomes the query string, `_body` the JSON body.
  await node.update({ _query: { version: info.Version.Index }, _body: { ...info.Spec, Availability: availability } } as unknown as Record<string, unknown>);
}
