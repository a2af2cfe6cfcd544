// The Swarm as maillab sees it (docs/operations.md): a manager's Docker API for the Swarm's objects
// (networks, services, tasks, nodes), and each node's own Docker API for what Swarm has no API for —
// exec into a task's container (terminals, checks), pausing it, its events. Every API is the engine's
// own TLS endpoint (tcp://<node>:2376, `dockerd --tlsverify`) with one client certificate from
// MAILLAB_SWARM_TLS_DIR (the docker CLI's DOCKER_CERT_PATH layout); node addresses come from the
// Swarm's node list. Nothing maillab-specific runs on a node.
import { readFileSync } from "node:fs";
import path from "node:path";
import Dockerode from "dockerode";
import { z } from "zod";
import { LAB_NODE_LABEL } from "./swarm-spec";

export interface SwarmOptions {
  /** A manager's Docker API, `tcp://host:port`. */
  manager: string;
  /** ca.pem, cert.pem, key.pem: the CA of the engines' certificates and the app's client certificate. */
  tlsDir: string;
  /** Every node's Docker API port (TLS). Default 2376. */
  nodePort?: number;
  /** `host:port` of the registry the nodes pull the lab images from (./registry.ts). */
  registry: string;
}

export const DEFAULT_NODE_PORT = 2376;

export interface SwarmNode {
  id: string;
  hostname: string;
  /** Where its Docker API and its tasks' traffic are (the node's advertised address). */
  address: string;
  role: "manager" | "worker";
  availability: "active" | "pause" | "drain";
  /** ready | down | unknown | disconnected */
  state: string;
  /** Labelled for environments (maillab.lab=true). */
  lab: boolean;
}

const nodeListing = z.array(
  z.object({
    ID: z.string(),
    Spec: z.object({ Role: z.string().optional(), Availability: z.string().optional(), Labels: z.record(z.string(), z.string()).optional() }).optional(),
    Description: z.object({ Hostname: z.string().optional() }).optional(),
    Status: z.object({ State: z.string().optional(), Addr: z.string().optional() }).optional(),
    ManagerStatus: z.object({ Addr: z.string().optional() }).optional(),
  }),
);

/** A node's address: Status.Addr, except on managers where older engines report 0.0.0.0 there. */
function nodeAddress(node: z.infer<typeof nodeListing>[number]): string {
  const addr = node.Status?.Addr ?? "";
  if (addr && addr !== "0.0.0.0") return addr;
  return (node.ManagerStatus?.Addr ?? "").replace(/:\d+$/, "");
}

export function parseNodes(listing: unknown): SwarmNode[] {
  return nodeListing.parse(listing).map((n) => ({
    id: n.ID,
    hostname: n.Description?.Hostname ?? n.ID.slice(0, 12),
    address: nodeAddress(n),
    role: n.Spec?.Role === "manager" ? "manager" : "worker",
    availability: n.Spec?.Availability === "drain" ? "drain" : n.Spec?.Availability === "pause" ? "pause" : "active",
    state: n.Status?.State ?? "unknown",
    lab: n.Spec?.Labels?.[LAB_NODE_LABEL] === "true",
  }));
}

/** `tcp://host:port` → host and port; anything else is a configuration error. */
export function parseEndpoint(url: string): { host: string; port: number } {
  const match = /^tcp:\/\/([^/:]+|\[[0-9a-fA-F:]+\]):(\d{1,5})\/?$/.exec(url.trim());
  if (!match) throw new Error(`not a Docker TLS endpoint (tcp://host:port): ${url}`);
  return { host: match[1]!.replace(/^\[|\]$/g, ""), port: Number(match[2]) };
}

export class SwarmCluster {
  readonly manager: Dockerode;
  readonly options: Required<SwarmOptions>;
  private readonly tls: { ca: Buffer; cert: Buffer; key: Buffer };
  private readonly engines = new Map<string, Dockerode>();
  private nodes = new Map<string, SwarmNode>();

  constructor(options: SwarmOptions) {
    this.options = { nodePort: DEFAULT_NODE_PORT, ...options };
    const read = (file: string) => {
      try {
        return readFileSync(path.join(options.tlsDir, file));
      } catch (error) {
        throw new Error(`MAILLAB_SWARM_TLS_DIR: cannot read ${path.join(options.tlsDir, file)} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
      }
    };
    this.tls = { ca: read("ca.pem"), cert: read("cert.pem"), key: read("key.pem") };
    const { host, port } = parseEndpoint(options.manager);
    this.manager = this.engine(host, port);
  }

  private engine(host: string, port: number): Dockerode {
    const key = `${host}:${port}`;
    let docker = this.engines.get(key);
    if (!docker) {
      docker = new Dockerode({ host, port, protocol: "https", ...this.tls });
      this.engines.set(key, docker);
    }
    return docker;
  }

  /** Reads the node list from the manager (and keeps it for node()/nodeEngine()). */
  async refreshNodes(): Promise<SwarmNode[]> {
    const nodes = parseNodes(await this.manager.listNodes());
    this.nodes = new Map(nodes.map((n) => [n.id, n]));
    return nodes;
  }

  /** The node as last listed. */
  node(id: string): SwarmNode | undefined {
    return this.nodes.get(id);
  }

  listedNodes(): SwarmNode[] {
    return [...this.nodes.values()];
  }

  /** The node's own Docker API. */
  nodeEngine(id: string): Dockerode {
    const node = this.nodes.get(id);
    if (!node?.address) throw new Error(`the Swarm has no node ${id} (or no address for it)`);
    return this.engine(node.address, this.options.nodePort);
  }

  /** For the docker CLI (terminals under node-pty): the node's API with the same certificates. */
  cliEnv(id: string): Record<string, string> {
    const node = this.nodes.get(id);
    if (!node?.address) throw new Error(`the Swarm has no node ${id}`);
    const host = node.address.includes(":") ? `[${node.address}]` : node.address;
    return { DOCKER_HOST: `tcp://${host}:${this.options.nodePort}`, DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: this.options.tlsDir };
  }
}
