// How much an environment may write to the host's disk (docs/security.md "Disk"), and how that is
// enforced on this engine: a hard limit per container (`HostConfig.StorageOpt.size`) where the storage
// driver has one (btrfs with quotas, overlay2 on xfs with pquota, zfs), else the watchdog of
// ./disk-watchdog.ts. Which one works is found by trying, not by guessing from `docker info`: a tiny
// probe container with a small limit writes a little (must work) and then more than the limit (must
// fail). That also finds btrfs with *full* qgroups, where Docker's limit (a qgroup "referenced" limit)
// counts the image's files the snapshot shares, so a machine would start out over its limit: there the
// image's size is added to each machine's limit.
import type Dockerode from "dockerode";
import { ENVIRONMENT_MACHINES, type EnvironmentMachine } from "@/lib/machines";

const MiB = 1024 * 1024;

/** `auto`: hard where the engine can, else the watchdog. `hard` fails loudly where it cannot. */
export type DiskLimitMode = "auto" | "hard" | "watchdog";

export interface DiskLimitOptions {
  /** Per environment, all machines together; 0 = no limit. */
  limitBytes: number;
  mode: DiskLimitMode;
}

/**
 * How a hard limit is split over an environment's machines (fractions of the environment's limit).
 * `mail` runs the services and holds what grows in a lab: the mail queue, mailboxes, logs, the packages
 * the learner installs (Dovecot: ~60 MB written after Lab 12.2). `partner` is the learner's client
 * machine (saved mails, a second MTA for one check). The probe only runs the checks' dialogues and the
 * learner has no shell there: it writes a few KiB of check state. Sum: 1.
 */
export const DISK_SHARES: Readonly<Record<EnvironmentMachine, number>> = { mail: 10 / 16, partner: 5 / 16, probe: 1 / 16 };

/** The smallest limit that leaves `mail` room for Lab 12.2 (its share is 160 MiB of this). */
export const MIN_DISK_LIMIT_BYTES = 256 * MiB;

export interface DiskEnforcement {
  kind: "hard" | "watchdog" | "none";
  limitBytes: number;
  /** hard: `StorageOpt.size` per machine, in bytes (its share, plus its image's size on full btrfs qgroups). */
  sizeBytes?: Record<EnvironmentMachine, number>;
  /** Why this kind (logged at start-up, shown in /api/health). */
  reason: string;
  /** Docker's data root: the watchdog finds each container's /etc/hosts, resolv.conf and hostname there. */
  dockerRoot?: string;
}

/** What /api/health says about disk limits: the enforcement found, or why there is none. */
export interface DiskStatus {
  kind?: DiskEnforcement["kind"];
  limitBytes?: number;
  reason?: string;
  /** MAILLAB_DISK_LIMIT_MODE=hard on an engine that cannot: environments cannot start. */
  error?: string;
}

/** Each machine's share of the environment's limit, in bytes. */
export function diskShares(limitBytes: number): Record<EnvironmentMachine, number> {
  return Object.fromEntries(ENVIRONMENT_MACHINES.map((m) => [m, Math.floor(limitBytes * DISK_SHARES[m])])) as Record<EnvironmentMachine, number>;
}

export function describeEnforcement(e: DiskEnforcement): string {
  if (e.kind === "none") return `no disk limit (${e.reason})`;
  const mib = (n: number) => `${Math.round(n / MiB)} MiB`;
  const sizes = e.sizeBytes ? ` (${ENVIRONMENT_MACHINES.map((m) => `${m} ${mib(e.sizeBytes![m])}`).join(", ")})` : "";
  return `disk limit ${mib(e.limitBytes)} per environment, ${e.kind === "hard" ? "hard" : "by watchdog"}${sizes}: ${e.reason}`;
}

/** Label on probe containers, so a probe left behind by a crash is removed by the next detection. */
export const LABEL_DISK_PROBE = "maillab.disk-probe";

/** The probe's verdict: its exit code says which of its two writes worked (bit 0: the small, bit 1: the big). */
type ProbeResult = { kind: "refused"; message: string } | { kind: "enforced" } | { kind: "image-counted" } | { kind: "not-enforced" } | { kind: "failed"; message: string };

/** What the probe writes against its limit: a little that must fit, then more than the limit. */
const PROBE_LIMIT_BYTES = 64 * MiB;
const PROBE_SMALL_BYTES = 1 * MiB;
const PROBE_BIG_BYTES = 96 * MiB;
/** On full btrfs qgroups, a machine's limit is its share plus this times its image's size (see below). */
const FULL_QGROUP_IMAGE_FACTOR = 1.1;

function message(error: unknown): string {
  // dockerode prefixes the engine's words with "(HTTP code 500) server error - ".
  return (error instanceof Error ? error.message : String(error)).replace(/^\(HTTP code \d+\)[^-]*- /, "").trim();
}

async function probe(docker: Dockerode, image: string, sizeBytes: number, labels: Record<string, string>): Promise<ProbeResult> {
  // The pause lets our wait request reach the engine before the probe exits (and is auto-removed).
  const script =
    `sleep 0.3; s=0; head -c ${PROBE_SMALL_BYTES} /dev/zero > /var/tmp/.maillab-quota-small && s=1; ` +
    `head -c ${PROBE_BIG_BYTES} /dev/zero > /var/tmp/.maillab-quota-big 2>/dev/null && s=$((s + 2)); exit $s`;
  let container: Dockerode.Container;
  try {
    container = await docker.createContainer({
      Image: image,
      Entrypoint: ["sh", "-c", script],
      Cmd: [],
      Labels: { ...labels, [LABEL_DISK_PROBE]: "1" },
      // AutoRemove: an app that dies mid-probe (stopped at start-up) leaves nothing behind.
      HostConfig: { StorageOpt: { size: String(sizeBytes) }, NetworkMode: "none", Memory: 64 * MiB, LogConfig: { Type: "none", Config: {} }, AutoRemove: true },
    });
  } catch (error) {
    // No such image: not the engine's answer about limits; the caller tries again later.
    if ((error as { statusCode?: number }).statusCode === 404) throw error;
    // overlay2 on ext4: "--storage-opt is supported only for overlay over xfs with 'pquota' mount option"
    return { kind: "refused", message: message(error) };
  }
  try {
    const exited = container.wait({ condition: "next-exit" }) as Promise<{ StatusCode: number }>;
    await container.start();
    const { StatusCode: code } = await exited;
    if (code === 1) return { kind: "enforced" };
    if (code === 0) return { kind: "image-counted" };
    if (code === 3) return { kind: "not-enforced" };
    return { kind: "failed", message: `the probe exited with ${code}` };
  } catch (error) {
    return { kind: "failed", message: message(error) };
  } finally {
    await container.remove({ force: true, v: true }).catch(() => undefined);
  }
}

async function removeOldProbes(docker: Dockerode, labels: Record<string, string>): Promise<void> {
  const filters = { label: [LABEL_DISK_PROBE, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)] };
  const old = await docker.listContainers({ all: true, filters });
  await Promise.all(old.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)));
}

/**
 * Finds out how this engine can limit an environment's disk. Needs the lab images (the probe runs
 * `images.probe`); takes ~0.5 s (two probes, ~2–4 s, on btrfs with full qgroups). With `mode: "hard"`
 * an engine that cannot is an error naming the reason.
 */
export async function detectDiskEnforcement(
  docker: Dockerode,
  options: DiskLimitOptions & { images: Record<EnvironmentMachine, string>; labels: Record<string, string> },
): Promise<DiskEnforcement> {
  const { limitBytes, mode } = options;
  if (limitBytes <= 0) return { kind: "none", limitBytes: 0, reason: "MAILLAB_DISK_LIMIT_MB=0" };
  const info = (await docker.info()) as { Driver?: string; DriverStatus?: Array<[string, string]>; DockerRootDir?: string };
  const backing = info.DriverStatus?.find(([key]) => key === "Backing Filesystem")?.[1];
  const driver = `${info.Driver ?? "unknown driver"}${backing ? ` on ${backing}` : ""}`;
  const base = { limitBytes, dockerRoot: info.DockerRootDir };
  if (mode === "watchdog") return { ...base, kind: "watchdog", reason: `MAILLAB_DISK_LIMIT_MODE=watchdog (storage driver ${driver})` };

  await removeOldProbes(docker, options.labels);
  const shares = diskShares(limitBytes);
  const first = await probe(docker, options.images.probe, PROBE_LIMIT_BYTES, options.labels);
  let result: DiskEnforcement | string;
  if (first.kind === "enforced") {
    result = { ...base, kind: "hard", sizeBytes: shares, reason: `storage driver ${driver} limits each container's writes` };
  } else if (first.kind === "image-counted" || (first.kind === "refused" && /quota exceeded/i.test(first.message))) {
    // btrfs refuses a limit below what the snapshot references already ("Failed to limit qgroup …:
    // disk quota exceeded"), or takes it and then refuses every write.
    // Full btrfs qgroups: the limit counts the image's shared files too. Add each image's size, and
    // what btrfs counts beyond it (whole blocks, metadata: 128.8 MiB referenced for the 119.8 MiB base
    // image, +7.5 %).
    const imageBytes = Object.fromEntries(
      await Promise.all(
        ENVIRONMENT_MACHINES.map(async (m) => [m, Math.ceil(((await docker.getImage(options.images[m]).inspect()) as { Size: number }).Size * FULL_QGROUP_IMAGE_FACTOR)] as const),
      ),
    ) as Record<EnvironmentMachine, number>;
    const second = await probe(docker, options.images.probe, imageBytes.probe + PROBE_LIMIT_BYTES, options.labels);
    result =
      second.kind === "enforced"
        ? {
            ...base,
            kind: "hard",
            sizeBytes: Object.fromEntries(ENVIRONMENT_MACHINES.map((m) => [m, shares[m] + imageBytes[m]])) as Record<EnvironmentMachine, number>,
            reason: `storage driver ${driver} limits each container, counting its image's files too (btrfs full qgroups): each limit includes the image's size`,
          }
        : `storage driver ${driver}: a limit counting the image's files was not enforced either (${second.kind})`;
  } else {
    const why = first.kind === "refused" || first.kind === "failed" ? first.message : "writes past the limit were not stopped";
    result = `storage driver ${driver} cannot limit a container's disk: ${why}`;
  }
  if (typeof result !== "string") return result;
  if (mode === "hard") throw new Error(`MAILLAB_DISK_LIMIT_MODE=hard, but ${result}`);
  return { ...base, kind: "watchdog", reason: result };
}
