// Disk limits against the real Docker engine and the real lab images (docs/security.md "Disk"): a
// learner's `dd` in a lab machine, the hard limit where the engine has one (here: btrfs with quotas,
// the data root scripts/ensure-docker.sh sets up), the watchdog where it has none (forced here), and
// the writes no storage quota covers (Docker's /etc/hosts, the container log).
// Every object carries maillab.test=<run>; afterAll removes them even when a test fails.
import { statfs, stat } from "node:fs/promises";
import Dockerode from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DISK_SHARES, LABEL_DISK_PROBE, diskShares, type DiskLimitMode } from "./disk-limits";
import { DOCKER_FILES_MAX_BYTES } from "./disk-watchdog";
import { EnvironmentManager, type StatusChange } from "./environments";
import { ensureImages, imagesStatus } from "./images";
import { LABEL_DISK_LIMIT } from "./labels";
import { until } from "./testing";

const RUN = `disk-${Date.now().toString(36)}`;
const MiB = 1024 * 1024;
const LIMIT = 256 * MiB;
const docker = new Dockerode();
const managers: EnvironmentManager[] = [];

function newManager(mode: DiskLimitMode): EnvironmentManager {
  const manager = new EnvironmentManager({
    labels: { "maillab.test": RUN, "maillab.case": mode },
    idleStopMs: 0,
    ttlMs: 0,
    hostFirewall: false,
    // Tests cannot wait for the production intervals (5 s for Docker's files, ≥ 15 s for layers).
    disk: { limitBytes: LIMIT, mode, tickMs: 300, layerIntervalMinMs: 500, layerDutyFactor: 1 },
    log: () => undefined,
  });
  managers.push(manager);
  return manager;
}

/** Bytes in use on the filesystem of Docker's data root (this host), after flushing what was written. */
async function dataRootUsedBytes(root: string): Promise<number> {
  const s = await statfs(root);
  return (s.blocks - s.bfree) * s.bsize;
}

afterAll(async () => {
  for (const m of managers) m.dispose();
  const filters = { label: [`maillab.test=${RUN}`] };
  const containers = await docker.listContainers({ all: true, filters });
  await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)));
  const networks = await docker.listNetworks({ filters });
  await Promise.all(networks.map((n) => docker.getNetwork(n.Id).remove().catch(() => undefined)));
});

beforeAll(async () => {
  const images = await imagesStatus();
  if (images.missing.length > 0) await ensureImages({ onProgress: (line) => console.log(line) });
}, 900_000);

describe("the split over the machines", () => {
  it("gives mail most, partner some, the probe a little, and adds up to the environment's limit", () => {
    expect(DISK_SHARES.mail + DISK_SHARES.partner + DISK_SHARES.probe).toBe(1);
    expect(diskShares(1024 * MiB)).toEqual({ mail: 640 * MiB, partner: 320 * MiB, probe: 64 * MiB });
  });
});

describe("hard limit (Docker's storage-opt size, on an engine that has it)", () => {
  let manager: EnvironmentManager;
  let id: string;
  let dockerRoot: string;

  beforeAll(async () => {
    manager = newManager("hard");
    await manager.init();
    const enforcement = await manager.diskEnforcement().catch((error: unknown) => {
      throw new Error(`this Docker engine has no hard disk limits (run it on the btrfs data root scripts/ensure-docker.sh sets up): ${String(error)}`);
    });
    expect(enforcement.kind).toBe("hard");
    // The probe containers that found out are gone (auto-removed, which the engine finishes by itself).
    await until("probes removed", async () => (await docker.listContainers({ all: true, filters: { label: [`maillab.test=${RUN}`, LABEL_DISK_PROBE] } })).length === 0, 10_000);
    dockerRoot = enforcement.dockerRoot!;
    id = (await manager.create({ usePool: false })).id;
    await manager.waitReady(id);
  }, 120_000);

  it("every machine gets its share as StorageOpt.size (and the label that says so), every file at most the environment's limit", async () => {
    const enforcement = await manager.diskEnforcement();
    for (const machine of ["mail", "partner", "probe"] as const) {
      const info = await docker.getContainer(manager.containerName(id, machine)).inspect();
      const size = Number(info.HostConfig.StorageOpt?.size);
      expect(size).toBe(enforcement.sizeBytes![machine]);
      // Full btrfs qgroups add the image's size; simple quotas (this engine) give exactly the share.
      expect(size).toBeGreaterThanOrEqual(diskShares(LIMIT)[machine]);
      expect(info.Config.Labels[LABEL_DISK_LIMIT]).toBe(String(size));
      expect(info.HostConfig.Ulimits).toEqual([{ Name: "fsize", Soft: LIMIT, Hard: LIMIT }]);
    }
  });

  it("dd in mail stops at mail's share with 'Disk quota exceeded'; the host's disk grows by no more", async () => {
    const before = await dataRootUsedBytes(dockerRoot);
    const dd = await manager.exec(id, "mail", ["sh", "-c", "dd if=/dev/zero of=/root/fill bs=1M count=1024 2>&1; sync; stat -c %s /root/fill"], { timeoutMs: 60_000 });
    const after = await dataRootUsedBytes(dockerRoot);
    console.log(`[disk] hard: ${dd.stdout.replace(/\n/g, " | ")}; data root +${((after - before) / MiB).toFixed(0)} MiB`);
    expect(dd.stdout).toMatch(/Disk quota exceeded|No space left on device/);
    const written = Number(dd.stdout.trim().split("\n").at(-1));
    expect(written).toBeLessThanOrEqual(diskShares(LIMIT).mail);
    expect(written).toBeGreaterThan(diskShares(LIMIT).mail / 2);
    // 1 GiB asked for; other work on this engine may write meanwhile, hence the margin.
    expect(after - before).toBeLessThan(512 * MiB);
    // A hard limit is not the watchdog's business: the environment keeps running, the learner cleans up.
    expect(manager.status(id)).toBe("running");
    expect((await manager.exec(id, "mail", ["sh", "-c", "rm /root/fill && echo written-again > /root/again && cat /root/again"])).stdout).toBe("written-again\n");
  });

  it("Docker's /etc/hosts (outside every quota) filled past 1 MiB stops the environment with a disk-limit notice; a resume rewrites it", async () => {
    const changes: StatusChange[] = [];
    const off = manager.onChange((c) => changes.push(c));
    const dd = await manager.exec(id, "partner", ["sh", "-c", "dd if=/dev/zero of=/etc/hosts bs=1M count=8 2>&1"]);
    expect(dd.exitCode).toBe(0); // nothing in the machine stops it: the watchdog must
    await until("stopped by the watchdog", () => manager.status(id) === "stopped");
    const notice = manager.notice(id);
    expect(notice).toMatchObject({ kind: "disk-limit", limitBytes: LIMIT });
    expect(notice?.kind === "disk-limit" && notice.usedBytes).toBeGreaterThan(DOCKER_FILES_MAX_BYTES);
    expect(changes).toContainEqual(expect.objectContaining({ id, status: "stopped", notice: expect.objectContaining({ kind: "disk-limit" }) }));

    await manager.resume(id);
    // Docker writes its files anew at every start: under the limit again, the notice clears.
    await until("notice cleared", () => manager.notice(id) === undefined, 10_000);
    expect(manager.status(id)).toBe("running");
    expect((await manager.exec(id, "partner", ["sh", "-c", "stat -c %s /etc/hosts"])).stdout.trim()).toMatch(/^\d{2,4}$/);
    off();
  });

  it("the container log stays at Docker's 1 MiB cap whatever a machine prints", async () => {
    // PID 1's stdout is the container log.
    await manager.exec(id, "mail", ["sh", "-c", "yes 'a chatty daemon' | head -c 8000000 > /proc/1/fd/1"], { timeoutMs: 60_000 });
    const info = await docker.getContainer(manager.containerName(id, "mail")).inspect();
    expect(info.HostConfig.LogConfig).toEqual({ Type: "json-file", Config: { "max-size": "1m", "max-file": "1" } });
    const size = (await stat(info.LogPath)).size;
    expect(size).toBeLessThanOrEqual(1.5 * MiB); // json-file rotates once the file passes 1 MiB
  });
});

describe("watchdog (forced here; the default where the engine has no hard limit)", () => {
  let manager: EnvironmentManager;
  let id: string;

  beforeAll(async () => {
    manager = newManager("watchdog");
    await manager.init();
    expect((await manager.diskEnforcement()).kind).toBe("watchdog");
    id = (await manager.create({ usePool: false })).id;
    await manager.waitReady(id);
  }, 120_000);

  it("no machine gets a storage size, but no file may pass the environment's limit", async () => {
    const info = await docker.getContainer(manager.containerName(id, "mail")).inspect();
    expect(info.HostConfig.StorageOpt ?? {}).toEqual({});
    expect(info.Config.Labels[LABEL_DISK_LIMIT]).toBeUndefined();
    const big = await manager.exec(id, "partner", ["sh", "-c", "dd if=/dev/zero of=/root/big bs=1M count=300 2>&1; echo exit=$?; stat -c %s /root/big; rm -f /root/big"], { timeoutMs: 60_000 });
    expect(big.stdout).toMatch(/exit=153/); // 128 + SIGXFSZ: RLIMIT_FSIZE, which root in the machine cannot raise
    expect(Number(big.stdout.trim().split("\n").at(-1))).toBe(LIMIT);
  });

  it("writing past the limit stops the environment with a disk-limit notice; deleting the files and resuming clears it", async () => {
    const changes: StatusChange[] = [];
    const off = manager.onChange((c) => changes.push(c));
    // Two files, 300 MiB together: each below the per-file limit, together over the environment's.
    const dd = await manager.exec(id, "mail", ["sh", "-c", "for f in a b; do dd if=/dev/zero of=/root/$f bs=1M count=150 2>/dev/null; done; echo done"], { timeoutMs: 60_000 });
    expect(dd.stdout).toBe("done\n"); // nothing stops the writes themselves
    await until("stopped by the watchdog", () => manager.status(id) === "stopped", 60_000);
    const notice = manager.notice(id);
    expect(notice).toMatchObject({ kind: "disk-limit", limitBytes: LIMIT });
    expect(notice?.kind === "disk-limit" && notice.usedBytes).toBeGreaterThan(LIMIT);
    expect(changes.at(-1)).toMatchObject({ id, previous: "running", status: "stopped", notice: { kind: "disk-limit" } });
    expect((await docker.getContainer(manager.containerName(id, "mail")).inspect()).State.Running).toBe(false);

    // The learner comes back, the notice stays until the files are gone.
    await manager.resume(id);
    expect(manager.notice(id)?.kind).toBe("disk-limit");
    await manager.exec(id, "mail", ["rm", "-f", "/root/a", "/root/b"]);
    await until("notice cleared", () => manager.notice(id) === undefined, 30_000);
    expect(manager.status(id)).toBe("running");
    off();
  });
});
