// Turns a machine's spec (./machine-spec.ts: the images' contract) and an environment's params into
// Docker's create options: limits, capabilities, network identity, the env contract.
import type Dockerode from "dockerode";
import { PROBE_HOSTNAME, probeAddress, type EnvironmentMachine, type EnvironmentParams } from "@/lib/machines";
import { imageTag } from "./images";
import { MACHINE_SPECS, machineEnv } from "./machine-spec";

export { READY_FILE } from "./machine-spec";

/** The image a machine runs: content-hash tag of docker/ (./images.ts); the probe runs partner's. */
export function machineImage(machine: EnvironmentMachine): string {
  return imageTag(machine === "probe" ? "partner" : machine);
}

/** The address a machine has in its environment's network. */
export function machineAddress(machine: EnvironmentMachine, params: EnvironmentParams): string {
  if (machine === "mail") return params.mailIp;
  if (machine === "partner") return params.partnerIp;
  return probeAddress(params.subnet);
}

/** `docker stop` grace per machine (maillab-init stops the services on SIGTERM). */
export function stopTimeoutS(machine: EnvironmentMachine): number {
  return MACHINE_SPECS[machine].stopTimeoutS;
}

export interface ContainerConfigInput {
  machine: EnvironmentMachine;
  name: string;
  network: string;
  params: EnvironmentParams;
  labels: Record<string, string>;
  /** Override the image (development against another build). */
  image?: string;
  /** Override the image's command (development: a bare base image with ["sleep", "infinity"]). */
  command?: string[];
  /** Disk limits (./disk-limits.ts): a hard size of the writable layer where the engine has one, and the
   * largest file any process may write (RLIMIT_FSIZE), which also bounds Docker's bind-mounted
   * /etc/hosts, /etc/resolv.conf and /etc/hostname that no storage quota covers. */
  disk?: { sizeBytes?: number; fileSizeLimitBytes?: number };
  /** OCI runtime (HostConfig.Runtime); the engine's default when absent. */
  runtime?: string;
}

export function buildContainerOptions(input: ContainerConfigInput): Dockerode.ContainerCreateOptions {
  const { params, machine } = input;
  const spec = MACHINE_SPECS[machine];
  const ip = machineAddress(machine, params);
  const aliases = machine === "mail" ? ["mail", params.mailHost] : machine === "partner" ? ["partner"] : [PROBE_HOSTNAME];
  // The probe gets no passwords: the runner hands a check what it needs (server/labs/check-runner.ts).
  const env = machine === "probe" ? machineEnv(machine, { domain: params.domain, users: [] }) : machineEnv(machine, params);
  return {
    name: input.name,
    Image: input.image ?? machineImage(machine),
    // The image's ENTRYPOINT (tini → maillab-init) is the machine's boot; only development overrides it.
    ...(input.command ? { Entrypoint: input.command.slice(0, 1), Cmd: input.command.slice(1) } : {}),
    Hostname: spec.hostname,
    Env: env,
    Labels: input.labels,
    StopTimeout: spec.stopTimeoutS,
    HostConfig: {
      NetworkMode: input.network,
      Init: spec.init, // false: tini in the image is PID 1 already
      Memory: spec.memoryBytes,
      MemorySwap: spec.memoryBytes, // same as Memory: no swap
      PidsLimit: spec.pidsLimit,
      NanoCpus: spec.nanoCpus,
      CpuShares: spec.cpuShares,
      OomScoreAdj: spec.oomScoreAdj,
      CapDrop: ["ALL"],
      CapAdd: [...spec.capAdd],
      // No no-new-privileges: see NO_NEW_PRIVILEGES_NOTE in machine-spec.ts (postdrop, su, passwd).
      SecurityOpt: [...spec.securityOpt],
      Privileged: false,
      Sysctls: { ...spec.sysctls },
      RestartPolicy: { Name: "no" }, // after an engine restart the app decides (adopt, resume on use)
      ...(input.runtime ? { Runtime: input.runtime } : {}),
      ...(input.disk?.sizeBytes ? { StorageOpt: { size: String(input.disk.sizeBytes) } } : {}),
      // Root in the machine cannot raise a hard rlimit (no CAP_SYS_RESOURCE); docker exec shells inherit it.
      ...(input.disk?.fileSizeLimitBytes ? { Ulimits: [{ Name: "fsize", Soft: input.disk.fileSizeLimitBytes, Hard: input.disk.fileSizeLimitBytes }] } : {}),
      // A learner's chatty daemon must not fill the host's disk through the container log.
      LogConfig: { Type: "json-file", Config: { "max-size": "1m", "max-file": "1" } },
      // Names outside the environment can't resolve (no route out), and Docker's embedded DNS would
      // make every such lookup wait 10-20 s for an unreachable upstream; fail after 2 s instead.
      // The environment's own names are answered by the engine within milliseconds.
      DnsOptions: ["timeout:2", "attempts:1"],
      // mail names its clients from /etc/hosts (copied into Postfix's chroot at every start), so
      // mail.log says `partner[…]` and `maillab-check[…]` instead of Docker's PTR answer
      // `maillab-<id>-partner.maillab-<id>`.
      ...(machine === "mail"
        ? { ExtraHosts: [`partner:${params.partnerIp}`, `${PROBE_HOSTNAME}:${probeAddress(params.subnet)}`] }
        : {}),
    },
    NetworkingConfig: {
      EndpointsConfig: {
        [input.network]: { IPAMConfig: { IPv4Address: ip }, Aliases: aliases },
      },
    },
  };
}
