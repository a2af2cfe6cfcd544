import { describe, expect, it } from "vitest";
import type { EnvironmentMachine } from "@/lib/machines";
import { classifyListing, type ListedContainer, type ListedNetwork } from "./adoption";
import { LABEL_DISK_LIMIT, containerLabels, containerName, networkLabels, poolContainerName, type EnvironmentLabelInput } from "./labels";
import { generateParams } from "./params";

const scope = "app";
function env(id: string, { pool = false, scopeName = scope } = {}): EnvironmentLabelInput {
  return { id, scope: scopeName, params: generateParams("10.213.0.16/28"), createdAt: 1_700_000_000_000, pool, extra: { "x.y": "z" } };
}
const network = (input: EnvironmentLabelInput): ListedNetwork => ({ Id: `net-${input.id}`, Labels: networkLabels(input) });
function container(input: EnvironmentLabelInput, machine: EnvironmentMachine, { state = "running", name = containerName(input.id, machine) } = {}): ListedContainer {
  return { Id: `${machine}-${input.id}`, Names: [`/${name}`], State: state, Created: 1_700_000_000, Labels: containerLabels(input, machine) };
}

describe("classifyListing", () => {
  it("adopts complete environments, running or stopped, with their params and labels", () => {
    const a = env("aaaaaaaaaaaa");
    const b = env("bbbbbbbbbbbb");
    const { adopt, remove } = classifyListing(
      [network(a), network(b), { Id: "bridge" }],
      [container(a, "mail"), container(a, "partner"), container(b, "mail", { state: "exited" }), container(b, "partner", { state: "exited" })],
      { scope },
    );
    expect(remove).toEqual([]);
    expect(adopt.map((e) => [e.id, e.machines.mail.running, e.machines.partner.running])).toEqual([
      ["aaaaaaaaaaaa", true, true],
      ["bbbbbbbbbbbb", false, false],
    ]);
    expect(adopt[0]).toMatchObject({ params: a.params, extra: { "x.y": "z" }, createdAt: a.createdAt, pooled: false, halfClaimed: false });
    expect(adopt[0]!.machines.mail.diskLimited).toBe(false);
  });

  it("knows which machines were created with a hard disk limit (the watchdog measures the others)", () => {
    const a = env("aaaaaaaaaaaa");
    const limited = (machine: EnvironmentMachine): ListedContainer => {
      const c = container(a, machine);
      return { ...c, Labels: { ...c.Labels, [LABEL_DISK_LIMIT]: String(640 * 2 ** 20) } };
    };
    const { adopt } = classifyListing([network(a)], [limited("mail"), container(a, "partner")], { scope });
    expect(adopt[0]!.machines.mail.diskLimited).toBe(true);
    expect(adopt[0]!.machines.partner.diskLimited).toBe(false);
    expect(adopt[0]!.extra).toEqual({ "x.y": "z" }); // the label is the manager's, not the caller's
  });

  it("removes half-created environments", () => {
    const lone = env("lonenetwork1");
    const noNet = env("nonetwork001");
    const oneMachine = env("onemachine01");
    const { adopt, remove } = classifyListing(
      [network(lone), network(oneMachine)],
      [container(noNet, "mail"), container(noNet, "partner"), container(oneMachine, "mail")],
      { scope },
    );
    expect(adopt).toEqual([]);
    expect(remove.map((r) => [r.id, r.reason, r.containerIds.length, r.networkIds.length]).sort()).toEqual([
      ["lonenetwork1", "half-created", 0, 1],
      ["nonetwork001", "half-created", 2, 0],
      ["onemachine01", "half-created", 1, 1],
    ]);
  });

  it("removes environments the app does not know, but keeps unclaimed pool members", () => {
    const known = env("known0000001");
    const unknown = env("unknown00001");
    const pooled = env("pooled000001", { pool: true });
    const poolName = (m: EnvironmentMachine) => ({ name: poolContainerName(pooled.id, m) });
    const { adopt, remove } = classifyListing(
      [network(known), network(unknown), network(pooled)],
      [known, unknown].flatMap((e) => [container(e, "mail"), container(e, "partner")]).concat((["mail", "partner", "probe"] as const).map((m) => container(pooled, m, poolName(m)))),
      { scope, isKnown: (id) => id === known.id },
    );
    expect(adopt.map((e) => [e.id, e.pooled, e.bornInPool])).toEqual([
      ["known0000001", false, false],
      ["pooled000001", true, true],
    ]);
    expect(remove.map((r) => [r.id, r.reason])).toEqual([["unknown00001", "unknown to the app"]]);
  });

  it("finishes half-done claims and drops stopped pool members", () => {
    const half = env("halfclaimed1", { pool: true });
    const stale = env("stalepool001", { pool: true });
    const { adopt, remove } = classifyListing(
      [network(half), network(stale)],
      [
        container(half, "mail"), // renamed already
        container(half, "partner", { name: poolContainerName(half.id, "partner") }),
        container(stale, "mail", { name: poolContainerName(stale.id, "mail"), state: "exited" }),
        container(stale, "partner", { name: poolContainerName(stale.id, "partner"), state: "exited" }),
      ],
      { scope, isKnown: () => true },
    );
    expect(adopt.map((e) => [e.id, e.pooled, e.halfClaimed])).toEqual([["halfclaimed1", false, true]]);
    expect(remove.map((r) => [r.id, r.reason])).toEqual([["stalepool001", "stopped pool member"]]);
  });

  it("ignores objects of another scope", () => {
    const theirs = env("theirs000001", { scopeName: "maillab.test=run1" });
    const { adopt, remove } = classifyListing([network(theirs)], [container(theirs, "mail")], { scope, isKnown: () => false });
    expect(adopt).toEqual([]);
    expect(remove).toEqual([]);
  });
});
