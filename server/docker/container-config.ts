// Turns a machine's spec (server/docker/machine-spec.ts, owned by the images) and an environment's
// params into the Docker create options: limits, capabilities, network identity, env contract.
// PROVISIONAL: until machine-spec.ts lands, the spec values live here.
import type Dockerode from "dockerode";
import type { EnvironmentParams, MachineName } from "@/lib/machines";

export const READY_FILE = "/run/maillab/ready";
/** docker stop grace: maillab-init stops Postfix/Dovecot (≤ 5 s) and syslog (≤ 2 s) on SIGTERM. */
export const STOP_TIMEOUT_S = 8;

const SPEC: Record<MachineName, { image: string; memoryBytes: number; pidsLimit: number; nanoCpus: number; capAdd: string[]; init: boolean }> = {
  mail: { image: "maillab/mail:dev", memoryBytes: 256 * 1024 * 1024, pidsLimit: 256, nanoCpus: 1e9, capAdd: ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL"], init: false },
  partner: { image: "maillab/partner:dev", memoryBytes: 128 * 1024 * 1024, pidsLimit: 128, nanoCpus: 1e9, capAdd: ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID", "KILL"], init: false },
};

export function machineImage(machine: MachineName): string {
  return SPEC[machine].image;
}

export interface ContainerConfigInput {
  machine: MachineName;
  name: string;
  network: string;
  params: EnvironmentParams;
  labels: Record<string, string>;
  /** Override the spec's image (development). */
  image?: string;
  /** Override the image's command (development). */
  command?: string[];
}

export function machineEnv(machine: MachineName, params: EnvironmentParams): string[] {
  const [user1, user2] = params.users;
  return [
    `MAILLAB_MACHINE=${machine}`,
    `MAILLAB_DOMAIN=${params.domain}`,
    `MAILLAB_USER1=${user1?.name ?? ""}`,
    `MAILLAB_PASSWORD1=${user1?.password ?? ""}`,
    `MAILLAB_USER2=${user2?.name ?? ""}`,
    `MAILLAB_PASSWORD2=${user2?.password ?? ""}`,
  ];
}

export function buildContainerOptions(input: ContainerConfigInput): Dockerode.ContainerCreateOptions {
  const spec = SPEC[input.machine];
  const { params, machine } = input;
  const ip = machine === "mail" ? params.mailIp : params.partnerIp;
  const aliases = machine === "mail" ? ["mail", params.mailHost] : ["partner"];
  return {
    name: input.name,
    Image: input.image ?? spec.image,
    ...(input.command ? { Cmd: input.command } : {}),
    Hostname: machine,
    Domainname: machine === "mail" ? params.domain : undefined,
    Env: machineEnv(machine, params),
    Labels: input.labels,
    StopTimeout: STOP_TIMEOUT_S,
    HostConfig: {
      NetworkMode: input.network,
      Init: spec.init,
      Memory: spec.memoryBytes,
      MemorySwap: spec.memoryBytes,
      PidsLimit: spec.pidsLimit,
      NanoCpus: spec.nanoCpus,
      CapDrop: ["ALL"],
      CapAdd: spec.capAdd,
      Privileged: false,
      ReadonlyRootfs: false,
      RestartPolicy: { Name: "no" },
      LogConfig: { Type: "json-file", Config: { "max-size": "1m", "max-file": "1" } },
      // Unprivileged ICMP sockets: `ping` works without CAP_NET_RAW (the image must ship ping without
      // file capabilities, or exec fails with EPERM under CapDrop ALL).
      Sysctls: { "net.ipv4.ping_group_range": "0 2147483647" },
      // Names outside the environment can't resolve (no route out), and Docker's embedded DNS would
      // wait 10-20 s for the upstream on every miss; fail after 2 s instead. Own names answer in ms.
      DnsOptions: ["timeout:2", "attempts:1"],
    },
    NetworkingConfig: {
      EndpointsConfig: {
        [input.network]: { IPAMConfig: { IPv4Address: ip }, Aliases: aliases },
      },
    },
  };
}
