// The pure parts of Swarm mode: service specs against machine-spec.ts, reading the manager's listings
// (nodes, tasks), sorting them into environments to adopt and leftovers, the node firewall script.
import type Dockerode from "dockerode";
import { describe, expect, it } from "vitest";
import { ENVIRONMENT_MACHINES, type EnvironmentMachine } from "@/lib/machines";
import { hostFirewallRules } from "./host-firewall";
import { LABEL_CLAIMED, containerLabels, networkLabels, type EnvironmentLabelInput } from "./labels";
import { MACHINE_SPECS } from "./machine-spec";
import { generateParams } from "./params";
import { classifySwarmListing, currentTasks, parseTasks, type ListedService, type TaskView } from "./swarm-adoption";
import { parseEndpoint, parseNodes } from "./swarm-cluster";
import { nodeFirewallScript } from "./swarm-firewall";
import { LAB_NODE_LABEL, mailHosts, networkSpec, serviceSpec } from "./swarm-spec";

const params = generateParams("10.214.0.16/28");

describe("serviceSpec", () => {
  it("gives each machine machine-spec's limits, capabilities, sysctls and labels, one task, no restart, on lab nodes", () => {
    for (const machine of ENVIRONMENT_MACHINES) {
      const spec = MACHINE_SPECS[machine];
      const labels = { "maillab.environment": "abc", "maillab.machine": machine };
      const s = serviceSpec({ machine, name: `maillab-abc-${machine}`, network: "net", params, labels, image: "reg:5000/maillab/x:1", fileSizeLimitBytes: 1024 });
      const task = s.TaskTemplate as Dockerode.ContainerTaskSpec;
      const container = task.ContainerSpec!;
      expect(s.Labels).toEqual(labels);
      expect(container.Labels).toEqual(labels);
      expect(container.CapabilityDrop).toEqual(["ALL"]);
      expect(container.CapabilityAdd).toEqual(spec.capAdd.map((c) => `CAP_${c}`));
      expect(container.Sysctls).toEqual(spec.sysctls);
      expect(container.Init).toBe(false);
      expect(container.StopGracePeriod).toBe(spec.stopTimeoutS * 1e9);
      expect(container.Ulimits).toEqual([{ Name: "fsize", Soft: 1024, Hard: 1024 }]);
      expect(container.Command).toEqual(["/bin/sh", "-c", `echo ${spec.oomScoreAdj} >/proc/self/oom_score_adj 2>/dev/null; exec "$@"`, "maillab-boot", ...spec.entrypoint]);
      expect(task.Resources?.Limits).toEqual({ MemoryBytes: spec.memoryBytes, NanoCPUs: spec.nanoCpus, Pids: spec.pidsLimit });
      expect(task.RestartPolicy).toEqual({ Condition: "none" });
      expect(task.Placement?.Constraints).toEqual([`node.labels.${LAB_NODE_LABEL}==true`]);
      expect(s.Mode).toEqual({ Replicated: { Replicas: 1 } });
      expect(s.EndpointSpec).toEqual({ Mode: "dnsrr" });
      expect(JSON.stringify(s)).not.toMatch(/Privileged|docker\.sock/);
    }
  });

  it("names mail by its FQDN with its aliases, partner and the probe in mail's /etc/hosts, no passwords on the probe", () => {
    const mail = serviceSpec({ machine: "mail", name: "m", network: "net", params, labels: {}, image: "i", hosts: mailHosts("10.214.0.18", "10.214.0.19") });
    const mailContainer = mail.TaskTemplate as { ContainerSpec: { Hostname: string; Hosts: string[]; Env: string[] } };
    expect(mailContainer.ContainerSpec.Hostname).toBe(params.mailHost);
    expect(mailContainer.ContainerSpec.Hosts).toEqual(["10.214.0.18 partner", "10.214.0.19 maillab-check"]);
    expect(mail.TaskTemplate!.Networks).toEqual([{ Target: "net", Aliases: ["mail", params.mailHost] }]);
    expect(mailContainer.ContainerSpec.Env).toContain(`MAILLAB_PASSWORD1=${params.users[0]!.password}`);
    const probe = serviceSpec({ machine: "probe", name: "p", network: "net", params, labels: {}, image: "i" }).TaskTemplate as { ContainerSpec: { Env: string[]; Hostname: string } };
    expect(probe.ContainerSpec.Hostname).toBe("maillab-check");
    expect(probe.ContainerSpec.Env.join(" ")).not.toContain(params.users[0]!.password);
  });

  it("makes the network an internal, non-attachable overlay with the environment's subnet", () => {
    expect(networkSpec("maillab-abc", params, "10.214.0.17", { a: "b" })).toMatchObject({
      Driver: "overlay",
      Internal: true,
      Attachable: false,
      IPAM: { Config: [{ Subnet: "10.214.0.16/28", Gateway: "10.214.0.17" }] },
      Labels: { a: "b" },
    });
  });
});

describe("reading the Swarm's listings", () => {
  it("parses nodes: address (a manager's from ManagerStatus when 0.0.0.0), role, availability, lab label", () => {
    const nodes = parseNodes([
      { ID: "m1", Spec: { Role: "manager", Availability: "active" }, Description: { Hostname: "mgr" }, Status: { State: "ready", Addr: "0.0.0.0" }, ManagerStatus: { Addr: "10.0.0.2:2377" } },
      { ID: "w1", Spec: { Role: "worker", Availability: "drain", Labels: { [LAB_NODE_LABEL]: "true" } }, Description: { Hostname: "w1" }, Status: { State: "down", Addr: "10.0.0.3" } },
    ]);
    expect(nodes).toEqual([
      { id: "m1", hostname: "mgr", address: "10.0.0.2", role: "manager", availability: "active", state: "ready", lab: false },
      { id: "w1", hostname: "w1", address: "10.0.0.3", role: "worker", availability: "drain", state: "down", lab: true },
    ]);
    expect(() => parseNodes([{ nope: 1 }])).toThrow();
  });

  it("accepts only tcp://host:port endpoints", () => {
    expect(parseEndpoint("tcp://10.211.0.2:2376")).toEqual({ host: "10.211.0.2", port: 2376 });
    expect(parseEndpoint("tcp://[fd00::2]:2376")).toEqual({ host: "fd00::2", port: 2376 });
    for (const bad of ["10.211.0.2:2376", "unix:///var/run/docker.sock", "tcp://host", "https://h:1"]) expect(() => parseEndpoint(bad)).toThrow(/tcp:\/\/host:port/);
  });

  it("takes each service's newest task, with its node, container and address in the environment's network", () => {
    const tasks = parseTasks(
      [
        { ID: "t1", ServiceID: "s1", NodeID: "n1", CreatedAt: "2026-01-01T00:00:00Z", DesiredState: "shutdown", Status: { State: "shutdown" } },
        {
          ID: "t2",
          ServiceID: "s1",
          NodeID: "n2",
          CreatedAt: "2026-01-01T00:01:00Z",
          DesiredState: "running",
          Status: { State: "running", ContainerStatus: { ContainerID: "c2" } },
          NetworksAttachments: [{ Network: { ID: "other" }, Addresses: ["10.0.0.9/24"] }, { Network: { ID: "net" }, Addresses: ["10.214.0.18/28"] }],
        },
      ],
      () => "net",
    );
    expect(currentTasks(tasks).get("s1")).toMatchObject({ id: "t2", nodeId: "n2", containerId: "c2", address: "10.214.0.18", state: "running" });
  });
});

describe("classifySwarmListing", () => {
  const scope = "app";
  const input = (id: string, pool = false): EnvironmentLabelInput => ({ id, scope, params, createdAt: 1_700_000_000_000, pool, extra: { "x.y": "z" } });
  const services = (env: EnvironmentLabelInput, { claimed = false, machines = ENVIRONMENT_MACHINES as readonly EnvironmentMachine[] } = {}): ListedService[] =>
    machines.map((m) => ({ ID: `${env.id}-${m}`, Version: { Index: 7 }, Spec: { Name: `maillab-${env.id}-${m}`, Labels: { ...containerLabels(env, m), ...(claimed ? { [LABEL_CLAIMED]: "1" } : {}) } } }));
  const running = (list: ListedService[]) => new Map<string, TaskView>(list.map((s) => [s.ID, { id: `t-${s.ID}`, serviceId: s.ID, nodeId: "n1", containerId: `c-${s.ID}`, state: "running", desired: "running", createdAt: 1 }]));

  it("adopts complete environments with their tasks, and removes half-created ones and strangers' leftovers", () => {
    const a = input("aaaaaaaaaaaa");
    const b = input("bbbbbbbbbbbb");
    const other = { ...input("cccccccccccc"), scope: "someone-else" };
    const all = [...services(a), ...services(b, { machines: ["mail"] }), ...services(other)];
    const { adopt, remove } = classifySwarmListing(
      [a, b, other].map((e) => ({ Id: `net-${e.id}`, Labels: networkLabels(e) })),
      all,
      running(all),
      { scope },
    );
    expect(adopt.map((e) => e.id)).toEqual(["aaaaaaaaaaaa"]);
    expect(adopt[0]).toMatchObject({ params, extra: { "x.y": "z" }, pooled: false, networkId: "net-aaaaaaaaaaaa" });
    expect(adopt[0]!.machines.mail).toMatchObject({ serviceId: "aaaaaaaaaaaa-mail", version: 7, task: { containerId: "c-aaaaaaaaaaaa-mail" } });
    expect(remove).toEqual([{ id: "bbbbbbbbbbbb", reason: "half-created", serviceIds: ["bbbbbbbbbbbb-mail"], networkIds: ["net-bbbbbbbbbbbb"] }]);
  });

  it("tells unclaimed pool members, half claims, unknown environments and broken pool members apart", () => {
    const pooled = input("pppppppppppp", true);
    const half = input("hhhhhhhhhhhh", true);
    const unknown = input("uuuuuuuuuuuu");
    const broken = input("kkkkkkkkkkkk", true);
    const halfServices = services(half).map((s, i) => (i === 0 ? { ...s, Spec: { ...s.Spec, Labels: { ...s.Spec!.Labels, [LABEL_CLAIMED]: "1" } } } : s));
    const all = [...services(pooled), ...halfServices, ...services(unknown), ...services(broken)];
    const tasks = running(all);
    tasks.delete("kkkkkkkkkkkk-probe");
    const { adopt, remove } = classifySwarmListing(
      [pooled, half, unknown, broken].map((e) => ({ Id: `net-${e.id}`, Labels: networkLabels(e) })),
      all,
      tasks,
      { scope, isKnown: (id) => id === "hhhhhhhhhhhh" },
    );
    expect(adopt.map((e) => [e.id, e.pooled, e.halfClaimed])).toEqual([
      ["pppppppppppp", true, false],
      ["hhhhhhhhhhhh", false, true],
    ]);
    expect(remove.map((e) => [e.id, e.reason])).toEqual([
      ["uuuuuuuuuuuu", "unknown to the app"],
      ["kkkkkkkkkkkk", "broken pool member"],
    ]);
  });
});

describe("nodeFirewallScript", () => {
  it("writes host-firewall.ts's rules with the iptables Docker uses, the jump first in INPUT", () => {
    const script = nodeFirewallScript("10.214.0.0/16");
    for (const rule of hostFirewallRules("10.214.0.0/16")) expect(script).toContain(rule.map((a) => `'${a}'`).join(" "));
    expect(script).toMatch(/iptables-legacy -S .* grep -q -- '-N DOCKER'/);
    expect(script).toContain(`-I INPUT 1 -j MAILLAB-INPUT`);
  });
});
