// Swarm mode against a real Swarm (issue 13, docs/operations.md), the runtime and the app on it: the
// development Swarm of scripts/dev-swarm.sh — a manager and two lab workers, each a dockerd in its own network namespace,
// the registry on the manager — brought up here when it is not (CI: a clean machine) and taken down
// again at the end. Real lab images from the registry, real Postfix, real terminals through each
// node's TLS API. Every object carries maillab.test=<run>; afterAll removes what is left.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENVIRONMENT_MACHINES } from "@/lib/machines";
import { createApp } from "../app";
import { parseConfig } from "../config";
import { runStepChecks, solveStep, type RunContext } from "../labs/check-runner";
import { loadCourse } from "../labs/load-course";
import { dockerExecSpawnSpec } from "../terminals/docker-exec";
import { PROMPT_COMMAND, TestTerminal, plain, startTestServer, type TestServer } from "../terminals/testing";
import { LABEL_ENVIRONMENT } from "./labels";
import type { RuntimeStatusChange } from "./runtime";
import { SwarmCluster } from "./swarm-cluster";
import { SwarmEnvironmentManager, type SwarmManagerOptions } from "./swarm-environments";
import { hostAddress } from "./subnet-pool";
import { devSwarmNode, ensureDevSwarm, releaseDevSwarm, setAvailability, type DevSwarm } from "./swarm-testing";
import { until } from "./testing";

const RUN = `swarm-${Date.now().toString(36)}`;
const course = loadCourse();
const lab121 = course.labs.find((l) => l.id === "12-1")!;
let devSwarm: DevSwarm | undefined;
const managers: SwarmEnvironmentManager[] = [];
let terminals: TestServer | undefined;

function newManager(scope: string, options: Partial<SwarmManagerOptions> = {}): SwarmEnvironmentManager {
  const manager = new SwarmEnvironmentManager({
    swarm: devSwarm!.swarm,
    subnetPool: devSwarm!.subnetPool,
    labels: { "maillab.test": `${RUN}-${scope}` },
    idleStopMs: 0,
    ttlMs: 0,
    // What the manager says (nodes prepared, subnets moved, notices) helps read a CI failure.
    log: (line) => console.log(`[swarm ${scope}] ${line}`),
    ...options,
  });
  managers.push(manager);
  return manager;
}

/** Connects from inside a machine; "connected" or why not (3 s at most). */
function tcpProbe(host: string, port: number): string[] {
  return ["bash", "-c", `timeout 3 bash -c 'exec 3<>/dev/tcp/${host}/${port}' 2>&1 && echo connected || echo "unreachable"`];
}

function nodesOf(manager: SwarmEnvironmentManager, id: string): string[] {
  return ENVIRONMENT_MACHINES.map((m) => manager.placement(id)[m]!.node);
}

beforeAll(async () => {
  devSwarm = await ensureDevSwarm();
}, 20 * 60_000);

afterAll(async () => {
  await terminals?.close();
  for (const m of managers) {
    for (const env of m.list()) await m.destroy(env.id).catch(() => undefined);
    m.dispose();
  }
  if (devSwarm) {
    // Whatever a failed test left behind: this run's services and networks, and drained nodes.
    const probe = newManager("cleanup");
    const manager = probe.cluster.manager;
    for (const node of await probe.cluster.refreshNodes()) if (node.availability !== "active") await setAvailability(manager, node.id, "active");
    const filters = { label: [`maillab.test`] };
    for (const s of await manager.listServices({ filters })) if (s.Spec?.Labels?.["maillab.test"]?.startsWith(RUN)) await manager.getService(s.ID).remove().catch(() => undefined);
    for (const n of await manager.listNetworks({ filters })) if (n.Labels?.["maillab.test"]?.startsWith(RUN)) await manager.getNetwork(n.Id).remove().catch(() => undefined);
    probe.dispose();
  }
  await releaseDevSwarm(devSwarm);
}, 10 * 60_000);

type App = Awaited<ReturnType<typeof createApp>>;

let dataDir: string;
let app: App | undefined;

function config() {
  const env: Record<string, string> = {
    MAILLAB_DATA_DIR: dataDir,
    MAILLAB_RUNTIME: "swarm",
    MAILLAB_SWARM_MANAGER: devSwarm!.swarm.manager,
    MAILLAB_SWARM_TLS_DIR: devSwarm!.swarm.tlsDir,
    MAILLAB_REGISTRY: devSwarm!.swarm.registry,
    MAILLAB_SUBNET_POOL: devSwarm!.subnetPool,
    MAILLAB_WARM_POOL: "0",
    MAILLAB_INSTRUCTOR_PASSWORD: "swarm-test-password",
  };
  return parseConfig(env as NodeJS.ProcessEnv);
}

async function startApp(): Promise<App> {
  const started = await createApp(config(), (line) => console.log(`[app] ${line}`));
  await started.imagesReady;
  return started;
}

describe("Swarm mode (real Swarm of scripts/dev-swarm.sh)", () => {
  let manager: SwarmEnvironmentManager;

  beforeAll(async () => {
    manager = newManager("main");
    await manager.init();
    await manager.nodesPrepared();
  });

  it("places environments over the lab nodes, and /api/health shows the nodes", async () => {
    const envs = await Promise.all([manager.create(), manager.create(), manager.create()]);
    await Promise.all(envs.map((e) => manager.waitReady(e.id)));
    const nodes = new Set(envs.flatMap((e) => nodesOf(manager, e.id)));
    // Only the workers carry maillab.lab=true; Swarm spreads nine machines over both.
    expect([...nodes].sort()).toEqual(["mlsw-worker1", "mlsw-worker2"]);
    for (const e of envs) {
      expect(e.params.subnet.startsWith("10.214.")).toBe(true);
      const addresses = [e.params.mailIp, e.params.partnerIp, e.params.probeIp];
      expect(new Set(addresses).size, JSON.stringify(e.params)).toBe(3);
    }
    const health = await manager.health();
    expect(health.ok, JSON.stringify(health)).toBe(true);
    const workers = health.nodes!.filter((n) => n.lab);
    expect(workers.map((n) => n.hostname).sort()).toEqual(["mlsw-worker1", "mlsw-worker2"]);
    expect(workers.every((n) => n.ready && n.firewall && n.environments > 0)).toBe(true);
    expect(health.nodes!.find((n) => n.role === "manager")).toMatchObject({ lab: false, ready: false, environments: 0, firewall: true });
    await Promise.all(envs.map((e) => manager.destroy(e.id)));
  });

  it("runs every check of Lab 12.1 and both terminals on worker nodes; mail.log names partner and maillab-check", async () => {
    const env = await manager.create();
    await manager.waitReady(env.id);
    expect(nodesOf(manager, env.id).every((n) => /^mlsw-worker\d$/.test(n))).toBe(true);
    const ctx: RunContext = { run: (id, machine, job) => manager.runScript(id, machine, job), envId: env.id, params: env.params, course };
    for (const step of lab121.steps) {
      const before = await runStepChecks({ ...ctx, step });
      expect(before.status, `${step.id} passes before its solve`).toBe("fail");
      await solveStep({ ...ctx, step });
      const after = await runStepChecks({ ...ctx, step });
      expect(after.status, `${step.id} after its solve: ${after.checks.map((c) => `${c.id} ${c.ok} ${c.message.en}`).join("; ")}`).toBe("pass");
    }
    const log = (await manager.exec(env.id, "mail", ["grep", "connect from", "/var/log/mail.log"])).stdout;
    expect(log).toContain(`connect from maillab-check[${env.params.probeIp}]`);
    expect(log).toContain(`connect from partner[${env.params.partnerIp}]`);
    expect(log).not.toContain("connect from unknown[");

    // Terminals: the docker CLI under node-pty, against each machine's node (TLS).
    terminals = await startTestServer({
      authorize: () => ({ ok: true, role: "learner", name: "Ada" }),
      spawnSpec: async (envId, machine) => {
        const target = await manager.terminalTarget(envId, machine);
        expect(target.cliEnv?.DOCKER_HOST).toMatch(/^tcp:\/\/10\.211\.0\.\d:2376$/);
        return dockerExecSpawnSpec(target.container, { env: { PROMPT_COMMAND, LANG: "C.UTF-8" }, cliEnv: target.cliEnv });
      },
      pingIntervalMs: 0,
      log: () => undefined,
    });
    for (const machine of ["mail", "partner"] as const) {
      const term = new TestTerminal(terminals.url(env.id, machine)).connect();
      try {
        await term.waitStatus("open", 30_000);
        term.type("echo \"on $(hostname -s): $((6 * 7))\"\r");
        await term.waitFor(`on ${machine}: 42`, 30_000);
        expect(plain(term.text)).toContain(`on ${machine}: 42`);
      } finally {
        term.close();
      }
    }
    await manager.destroy(env.id);
  }, 900_000);

  it("keeps environments apart: no environment reaches another's machines, the nodes or the host", async () => {
    const [a, b] = await Promise.all([manager.create(), manager.create()]);
    await Promise.all([manager.waitReady(a.id), manager.waitReady(b.id)]);
    // Postfix listening on the network in both (Lab 12.1 step 1), so port 25 is there to be reached.
    for (const env of [a, b]) {
      const r = await manager.exec(env.id, "mail", ["bash", "-c", "postconf -e inet_interfaces=all && systemctl restart postfix"], { timeoutMs: 60_000 });
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    }
    // Within an environment, across nodes too: partner reaches its own mail.
    expect((await manager.exec(a.id, "partner", tcpProbe(a.params.mailIp, 25))).stdout).toContain("connected");
    const placeA = manager.placement(a.id);
    const placeB = manager.placement(b.id);
    let crossNode = 0;
    for (const from of ENVIRONMENT_MACHINES) {
      for (const to of ENVIRONMENT_MACHINES) {
        if (placeA[from]!.nodeId !== placeB[to]!.nodeId) crossNode++;
        const address = placeB[to]!.address!;
        const r = await manager.exec(a.id, from, ["bash", "-c", `${tcpProbe(address, 25)[2]}; ping -c1 -W1 ${address} >/dev/null 2>&1 && echo pinged || echo no-ping`]);
        expect(r.stdout, `${from} of A reaches ${to} of B (${address})`).toContain("unreachable");
        expect(r.stdout).toContain("no-ping");
      }
    }
    expect(crossNode, "A and B share no node: the cross-node case was not tried").toBeGreaterThan(0);
    // The nodes' services (Docker API, Swarm, gossip, registry, SSH) and the host (bridge address, app port).
    const hosts = ["10.211.0.1", "10.211.0.2", "10.211.0.3", "10.211.0.4"];
    for (const host of hosts) {
      for (const port of [22, 2376, 2377, 3000, 5000, 7946]) {
        const r = await manager.exec(a.id, "partner", tcpProbe(host, port));
        expect(r.stdout, `partner reaches ${host}:${port}`).toContain("unreachable");
      }
    }
    const gateway = hostAddress(a.params.subnet, 1);
    expect((await manager.exec(a.id, "mail", tcpProbe(gateway, 2376))).stdout).toContain("unreachable");
    await Promise.all([manager.destroy(a.id), manager.destroy(b.id)]);
  }, 300_000);

  it("adopts everything after an app restart: running and stopped environments, the warm pool, the claim", async () => {
    const first = newManager("restart");
    await first.init();
    const running = await first.create();
    const stopped = await first.create();
    await Promise.all([first.waitReady(running.id), first.waitReady(stopped.id)]);
    await first.stop(stopped.id);
    first.fillPool(1);
    await first.poolSettled();
    const placements = { running: first.placement(running.id), stopped: first.placement(stopped.id) };
    first.dispose();

    const second = newManager("restart");
    const report = await second.init();
    expect(report.adopted.sort()).toEqual([running.id, stopped.id].sort());
    expect(report.removed).toEqual([]);
    expect(second.poolStatus().ready).toBe(1);
    expect(second.status(running.id)).toBe("running");
    expect(second.status(stopped.id)).toBe("stopped");
    expect(second.placement(running.id)).toEqual(placements.running);
    expect(second.get(running.id)!.params).toEqual(running.params);
    expect((await second.exec(running.id, "mail", ["hostname"])).stdout.trim()).toBe(running.params.mailHost);
    await second.resume(stopped.id);
    expect(second.status(stopped.id)).toBe("running");
    expect((await second.exec(stopped.id, "partner", tcpProbe("mail", 25))).exitCode).toBe(0);
    expect(second.placement(stopped.id)).toEqual(placements.stopped);
    // The pool member is handed out by a label on its services: the machines stay the very same.
    const claimed = await second.create();
    expect(claimed.timings.fromPool).toBe(true);
    const machinesBefore = second.placement(claimed.id);
    await second.waitReady(claimed.id);
    const third = newManager("restart");
    second.dispose();
    const again = await third.init();
    expect(again.adopted.sort()).toEqual([running.id, stopped.id, claimed.id].sort());
    expect(third.poolStatus().ready).toBe(0);
    expect(third.placement(claimed.id)).toEqual(machinesBefore);
    for (const id of again.adopted) await third.destroy(id);
  }, 300_000);

  it("the reaper freezes idle environments (resumed on use) and destroys those past their TTL", async () => {
    const reaped: string[] = [];
    // The reaper looks every 5 s at the least (reaper.ts): frozen at the first look, destroyed at a later one.
    const reaping = newManager("reaper", { idleStopMs: 1_000, ttlMs: 12_000, onReaped: (id) => reaped.push(id) });
    await reaping.init();
    const env = await reaping.create();
    await reaping.waitReady(env.id);
    await until("the idle freeze", () => reaping.status(env.id) === "stopped", 20_000);
    const mail = reaping.placement(env.id).mail!;
    const docker = reaping.cluster.nodeEngine(mail.nodeId);
    expect((await docker.getContainer(mail.container).inspect()).State.Paused).toBe(true);
    await reaping.resume(env.id);
    expect((await reaping.exec(env.id, "mail", ["true"])).exitCode).toBe(0);
    await until("the TTL destroy", () => reaped.includes(env.id), 40_000);
    expect(reaping.status(env.id)).toBe("missing");
    await until("its services gone", async () => (await reaping.cluster.manager.listServices({ filters: { name: [`maillab-${env.id}`] } })).length === 0, 20_000);
  }, 120_000);

  it("limits disk by the watchdog across nodes: over the limit stops the environment with a notice; deleting and resuming clears it", async () => {
    const MiB = 2 ** 20;
    const disk = newManager("disk", { disk: { limitBytes: 256 * MiB, mode: "auto", tickMs: 500, layerIntervalMinMs: 500, layerDutyFactor: 1 } });
    await disk.init();
    expect(await disk.diskEnforcement()).toMatchObject({ kind: "watchdog", limitBytes: 256 * MiB });
    const env = await disk.create();
    await disk.waitReady(env.id);
    // No file may pass the environment's limit (RLIMIT_FSIZE, the only bound on Docker's /etc/hosts of a remote node).
    expect((await disk.exec(env.id, "mail", ["bash", "-c", "ulimit -f"])).stdout.trim()).toBe(String((256 * MiB) / 1024));
    const write = await disk.exec(env.id, "mail", ["bash", "-c", "dd if=/dev/zero of=/root/a bs=1M count=150 status=none && dd if=/dev/zero of=/root/b bs=1M count=150 status=none"], { timeoutMs: 60_000 });
    // 300 MiB against a 256 MiB limit and a watchdog round every 0.5 s: the stop may come while the
    // second dd still writes (the exec then ends with 137), or just after.
    expect([0, 137], write.stderr).toContain(write.exitCode);
    const notice = await until("the disk-limit notice", () => (disk.notice(env.id)?.kind === "disk-limit" ? disk.notice(env.id) : undefined), 60_000);
    expect(notice).toMatchObject({ kind: "disk-limit", limitBytes: 256 * MiB });
    await until("the environment stopped", () => disk.status(env.id) === "stopped", 30_000);
    await disk.resume(env.id);
    await disk.exec(env.id, "mail", ["rm", "-f", "/root/a", "/root/b"]);
    await until("the notice cleared", () => disk.notice(env.id) === undefined, 60_000);
    expect(disk.status(env.id)).toBe("running");
    await disk.destroy(env.id);
  }, 300_000);

  it("a drained node's learners see what happened, and a reset brings their machines back on another node", async () => {
    const env = await manager.create();
    await manager.waitReady(env.id);
    const changes: RuntimeStatusChange[] = [];
    manager.onChange((c) => c.id === env.id && changes.push(c));
    const mail = manager.placement(env.id).mail!;
    await setAvailability(manager.cluster.manager, mail.nodeId, "drain");
    try {
      const notice = await until("the drain notice", () => (manager.notice(env.id)?.kind === "node-drained" ? manager.notice(env.id) : undefined), 60_000);
      expect(notice).toMatchObject({ kind: "node-drained", node: mail.node });
      expect(manager.status(env.id)).toBe("error");
      expect(changes.some((c) => c.status === "error" && c.notice?.kind === "node-drained")).toBe(true);
      await expect(manager.resume(env.id)).rejects.toThrow(/reset/);

      const fresh = await manager.reset(env.id, { params: env.params });
      expect(fresh.status).toBe("running");
      expect(fresh.notice).toBeUndefined();
      const { mailIp: _m, partnerIp: _p, probeIp: _q, ...same } = fresh.params;
      const { mailIp: _m0, partnerIp: _p0, probeIp: _q0, ...was } = env.params;
      expect(same).toEqual(was); // domain, users, passwords, subnet
      expect(nodesOf(manager, env.id).every((n) => n !== mail.node)).toBe(true);
      await manager.waitReady(env.id);
      const step = lab121.steps[0]!;
      const ctx: RunContext = { run: (id, machine, job) => manager.runScript(id, machine, job), envId: env.id, params: fresh.params, course };
      expect((await runStepChecks({ ...ctx, step })).status).toBe("fail");
      await solveStep({ ...ctx, step });
      expect((await runStepChecks({ ...ctx, step })).status).toBe("pass");
    } finally {
      await setAvailability(manager.cluster.manager, mail.nodeId, "active");
    }
    await manager.destroy(env.id);
  }, 300_000);

  it("a lost node's learners see what happened, and a reset brings their machines back on another node", async () => {
    const env = await manager.create();
    await manager.waitReady(env.id);
    const mail = manager.placement(env.id).mail!;
    const node = mail.node.replace(/^mlsw-/, "");
    await devSwarmNode("kill-node", node); // its engine dies: Swarm marks it down after its heartbeats fail
    try {
      const notice = await until("the lost-node notice", () => (manager.notice(env.id)?.kind === "node-lost" ? manager.notice(env.id) : undefined), 90_000);
      expect(notice).toMatchObject({ kind: "node-lost", node: mail.node });
      expect(manager.status(env.id)).toBe("error");
      expect((await manager.health()).nodes!.find((n) => n.id === mail.nodeId)).toMatchObject({ ready: false });
      const fresh = await manager.reset(env.id, { params: env.params });
      expect(fresh.status).toBe("running");
      expect(fresh.params.users).toEqual(env.params.users);
      expect(nodesOf(manager, env.id).every((n) => n !== mail.node)).toBe(true);
      await manager.waitReady(env.id);
      expect((await manager.exec(env.id, "partner", ["getent", "hosts", "mail"])).stdout).toContain(fresh.params.mailIp);
    } finally {
      await devSwarmNode("start-node", node);
    }
    // Back: Swarm lists it ready again, and new environments may go there.
    await until("the node back", async () => (await manager.cluster.refreshNodes()).find((n) => n.id === mail.nodeId)?.state === "ready", 60_000);
    await manager.destroy(env.id);
  }, 300_000);
});

describe("the app in Swarm mode (MAILLAB_RUNTIME=swarm)", () => {
  // The app pushes its images, a class's learner gets machines on a worker, /api/health reports the nodes
  // and the environments on each, a drained node shows on the dashboard and the learner's page (German and
  // English), the learner's reset brings the machines back elsewhere and the app keeps their new
  // addresses, and a restarted app adopts them. Its objects carry its instance id.
  let cluster: SwarmCluster;

  beforeAll(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), "maillab-swarm-app-"));
    cluster = new SwarmCluster(devSwarm!.swarm);
  });

  afterAll(async () => {
    const instance = app?.context.store.getSetting("instance_id") ?? "none";
    await app?.dispose();
    const mine = (labels: Record<string, string> | undefined) => labels?.[LABEL_ENVIRONMENT] && labels["maillab.scope"]?.includes(instance);
    for (const s of await cluster.manager.listServices()) if (mine(s.Spec?.Labels)) await cluster.manager.getService(s.ID).remove().catch(() => undefined);
    await new Promise((r) => setTimeout(r, 3000));
    for (const n of await cluster.manager.listNetworks()) if (mine(n.Labels)) await cluster.manager.getNetwork(n.Id).remove().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("serves a class on the Swarm: health per node, a drained node on the dashboard, reset elsewhere, adoption after a restart", async () => {
    app = await startApp();
    const { maillab, store } = app.context;
    const health0 = await app.context.health();
    expect(health0.ok, JSON.stringify(health0)).toBe(true);
    expect(health0.docker.runtime).toBe("swarm");
    expect(health0.images.ready).toBe(true);

    const cls = maillab.createClass("Swarm class", ["12-1"]);
    const { environment } = await maillab.join(cls.joinCode, "Ada", null);
    const running = await until("the environment running", () => (maillab.environmentView(store.getEnvironment(environment.id)!, "en").status === "running" ? true : undefined), 120_000);
    expect(running).toBe(true);

    // Health: the node(s) running Ada's machines count her environment.
    const health = await app.context.health();
    const nodes = health.docker.nodes!;
    expect(nodes.filter((n) => n.ready).map((n) => n.hostname).sort()).toEqual(["mlsw-worker1", "mlsw-worker2"]);
    expect(nodes.reduce((sum, n) => sum + n.environments, 0)).toBeGreaterThanOrEqual(1);
    const params = JSON.parse(store.getEnvironment(environment.id)!.params) as { mailIp: string; probeIp?: string; domain: string };
    expect(params.probeIp, "the params carry Swarm's addresses").toBeTruthy();

    // Drain the node running mail: the dashboard and the learner's page say what happened.
    const mailNode = await until("mail's node", async () => {
      const tasks = await cluster.manager.listTasks({ filters: { service: [`maillab-${environment.id}-mail`], "desired-state": ["running"] } });
      return (tasks as Array<{ NodeID?: string }>)[0]?.NodeID;
    });
    await setAvailability(cluster.manager, mailNode, "drain");
    try {
      const learner = await until("the dashboard's notice", () => maillab.progress(cls.id, "en").learners.find((l) => l.notice?.code === "node-drained"), 60_000);
      expect(learner.status).toBe("error");
      expect(learner.notice!.summary).toMatch(/^server mlsw-worker\d drained: reset$/);
      const de = maillab.environmentView(store.getEnvironment(environment.id)!, "de");
      expect(de.notice).toMatchObject({ code: "node-drained" });
      expect(de.notice!.message).toContain("„Maschinen zurücksetzen“");
      expect(de.notice!.message).toContain("Sie bekommen neue Maschinen auf einem anderen Server");

      await maillab.reset(store.getEnvironment(environment.id)!);
      const view = maillab.environmentView(store.getEnvironment(environment.id)!, "en");
      expect(view.status).toBe("running");
      expect(view.notice).toBeNull();
      // The new machines' addresses are kept; the domain and the passwords are the same.
      const after = JSON.parse(store.getEnvironment(environment.id)!.params) as typeof params;
      expect(after.domain).toBe(params.domain);
      const tasks = await cluster.manager.listTasks({ filters: { service: [`maillab-${environment.id}-mail`], "desired-state": ["running"] } });
      const attachment = (tasks as Array<{ NodeID: string; NetworksAttachments: Array<{ Addresses: string[] }> }>)[0]!;
      expect(attachment.NodeID).not.toBe(mailNode);
      expect(attachment.NetworksAttachments[0]!.Addresses[0]!.replace(/\/\d+$/, "")).toBe(after.mailIp);
    } finally {
      await setAvailability(cluster.manager, mailNode, "active");
    }

    // A restarted app adopts the environment as it is.
    await app.dispose();
    app = await startApp();
    const again = app.context;
    expect(again.maillab.environmentView(again.store.getEnvironment(environment.id)!, "en").status).toBe("running");
    const health2 = await again.health();
    expect(health2.docker.nodes!.reduce((sum, n) => sum + n.environments, 0)).toBeGreaterThanOrEqual(1);
    await again.maillab.endClass(cls.id);
    expect(again.maillab.environmentView(again.store.getEnvironment(environment.id)!, "en").status).toBe("ended");
  }, 600_000);
});
