// Swarm mode (docs/operations.md): one environment as Swarm objects — an internal overlay network with
// the environment's /28 from the subnet pool, and one replicated service per machine (mail, partner,
// the probe) with the limits, labels, capabilities and isolation that ./machine-spec.ts gives the
// engine's containers (./container-config.ts). Pure: the specs are unit tested as plain data.
//
// What Swarm does differently, and how it is met here:
// - No static addresses: Swarm assigns each task its address in the network. mail's /etc/hosts names
//   partner and the probe (so mail.log says `partner[…]` and `maillab-check[…]`) through the service's
//   Hosts, so partner and the probe are created first and mail once their addresses are known
//   (./swarm-environments.ts); the params carry the addresses Swarm gave.
// - No Domainname: mail's hostname is its FQDN, so `hostname -f` still says mail.<domain>.
// - No OomScoreAdj: the entrypoint raises the machine's own oom_score_adj before it becomes tini
//   (raising it needs no privilege), so under memory pressure the kernel still kills lab processes first.
// - No StorageOpt: disk limits are the watchdog's (./disk-watchdog.ts) and RLIMIT_FSIZE (Ulimits).
// - Endpoint mode dnsrr: names resolve to the tasks' own addresses (no virtual IP, no IPVS needed).
// - Restart condition none: a machine that dies is not replaced by a fresh one behind the learner's
//   back (its files would be gone); the app tells the learner, and a reset makes new machines.
import type Dockerode from "dockerode";
import { PROBE_HOSTNAME, type EnvironmentMachine, type EnvironmentParams } from "@/lib/machines";
import { MACHINE_SPECS, machineEnv } from "./machine-spec";

/** Node label of the nodes environments run on (docs/operations.md "Labels"): `docker node update --label-add maillab.lab=true`. */
export const LAB_NODE_LABEL = "maillab.lab";

const MiB = 1024 * 1024;

/**
 * Memory Swarm sets aside per machine when it places one (Resources.Reservations): a node takes
 * environments until their reservations fill its memory, then Swarm places them elsewhere (or says
 * "insufficient resources"). The steady state measured on a worker (docs/operations.md "Capacity"):
 * mail ~9 MiB idle, ~20 MiB with Dovecot; partner and the probe ~1-2 MiB. The limits stay higher
 * (machine-spec.ts) for the peaks (apt install), which are short and rarely at once.
 */
export const MEMORY_RESERVATIONS: Readonly<Record<EnvironmentMachine, number>> = { mail: 32 * MiB, partner: 8 * MiB, probe: 8 * MiB };

/** The environment's overlay network. */
export function networkSpec(name: string, params: Pick<EnvironmentParams, "subnet">, gateway: string, labels: Record<string, string>): Dockerode.NetworkCreateOptions {
  return {
    Name: name,
    CheckDuplicate: true,
    Driver: "overlay",
    // No route out (no docker_gwbridge): nothing shared with other environments, the nodes or the internet.
    Internal: true,
    // Only the environment's services join it (no `docker run --network` from a node).
    Attachable: false,
    IPAM: { Driver: "default", Config: [{ Subnet: params.subnet, Gateway: gateway }] },
    Labels: labels,
  };
}

export interface ServiceSpecInput {
  machine: EnvironmentMachine;
  /** Service name (unique in the Swarm). */
  name: string;
  /** The environment's network (name or id). */
  network: string;
  params: EnvironmentParams;
  /** Labels of the service and of its containers (nodes' container events are filtered by them). */
  labels: Record<string, string>;
  /** Registry reference of the machine's image (`<registry>/maillab/mail:<hash>`). */
  image: string;
  /** mail: `<address> <name>` lines for /etc/hosts (partner and the probe). */
  hosts?: string[];
  /** Largest file a process may write (RLIMIT_FSIZE), as ./disk-limits.ts gives the engine's containers. */
  fileSizeLimitBytes?: number;
  /** Override of the command (development), as in ./container-config.ts. */
  command?: string[];
}

/** The Swarm service of one machine: one task, placed by Swarm on a lab node. */
export function serviceSpec(input: ServiceSpecInput): Dockerode.CreateServiceOptions {
  const { machine, params } = input;
  const spec = MACHINE_SPECS[machine];
  const aliases = machine === "mail" ? ["mail", params.mailHost] : machine === "partner" ? ["partner"] : [PROBE_HOSTNAME];
  // The probe gets no passwords: the runner hands a check what it needs (server/labs/check-runner.ts).
  const env = machine === "probe" ? machineEnv(machine, { domain: params.domain, users: [] }) : machineEnv(machine, params);
  const boot = input.command ?? [...spec.entrypoint];
  // `exec` keeps tini PID 1; the value is inherited by every process of the machine.
  const command = ["/bin/sh", "-c", `echo ${spec.oomScoreAdj} >/proc/self/oom_score_adj 2>/dev/null; exec "$@"`, "maillab-boot", ...boot];
  const containerSpec: Dockerode.ContainerSpec = {
    Image: input.image,
    Labels: input.labels,
    Command: command,
    Hostname: machine === "mail" ? params.mailHost : spec.hostname,
    Env: env,
    Init: spec.init, // false: tini in the image is PID 1 already
    StopGracePeriod: spec.stopTimeoutS * 1e9,
    CapabilityDrop: ["ALL"],
    CapabilityAdd: spec.capAdd.map((cap) => `CAP_${cap}`),
    Sysctls: { ...spec.sysctls },
    // Names outside the environment can't resolve (no route out): fail fast (see container-config.ts).
    DNSConfig: { Options: ["timeout:2", "attempts:1"] },
    ...(input.hosts?.length ? { Hosts: input.hosts } : {}),
    ...(input.fileSizeLimitBytes ? { Ulimits: [{ Name: "fsize", Soft: input.fileSizeLimitBytes, Hard: input.fileSizeLimitBytes }] } : {}),
  };
  return {
    Name: input.name,
    Labels: input.labels,
    TaskTemplate: {
      ContainerSpec: containerSpec,
      Resources: {
        Limits: { MemoryBytes: spec.memoryBytes, NanoCPUs: spec.nanoCpus, Pids: spec.pidsLimit },
        Reservations: { MemoryBytes: MEMORY_RESERVATIONS[machine] },
      },
      RestartPolicy: { Condition: "none" },
      Placement: { Constraints: [`node.labels.${LAB_NODE_LABEL}==true`] },
      Networks: [{ Target: input.network, Aliases: aliases }],
      // A learner's chatty daemon must not fill the node's disk through the container log.
      LogDriver: { Name: "json-file", Options: { "max-size": "1m", "max-file": "1" } },
    },
    Mode: { Replicated: { Replicas: 1 } },
    EndpointSpec: { Mode: "dnsrr" },
  };
}

/** `<address> <name>` lines of mail's /etc/hosts, from partner's and the probe's task addresses. */
export function mailHosts(partnerIp: string, probeIp: string): string[] {
  return [`${partnerIp} partner`, `${probeIp} ${PROBE_HOSTNAME}`];
}
