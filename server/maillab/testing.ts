// Stand-ins for server/maillab's ports (./ports.ts), for unit tests of the product rules: a small
// course built in code, machines that are always there, and labs whose checks answer from a
// scriptable "world" (its inputs and each check's verdict) and count how often they ran.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Check, Course, Lab, Step } from "@/lib/lab-schema";
import type { EnvironmentParams } from "@/lib/machines";
import { openStore, type Store } from "../db";
import { createEventBus, type EventBus } from "../events";
import type { CheckOutcome, GateOutcome, Labs, MachineNotice, Machines, MachineStatus } from "./ports";

export const PARAMS: EnvironmentParams = {
  domain: "k7qa.example.test",
  mailHost: "mail.k7qa.example.test",
  users: [
    { name: "alice", password: "kavemu47" },
    { name: "bob", password: "ritapu23" },
  ],
  subnet: "10.213.0.16/28",
  mailIp: "10.213.0.18",
  partnerIp: "10.213.0.19",
};

function check(id: string, extra: Partial<Check> = {}): Check {
  return {
    id,
    title: { de: id, en: id },
    machine: "probe",
    script: `${id}.sh`,
    scriptPath: `/nonexistent/${id}.sh`,
    timeout: 5,
    guard: false,
    exclusive: false,
    evidence: false,
    needs: [],
    depends: ["conf"],
    ...extra,
  };
}

function step(id: string, kind: Step["kind"], checks: Check[]): Step {
  return { id, dir: id, title: { de: `Schritt ${id}`, en: `Step ${id}` }, kind, task: { de: "", en: "" }, hints: { de: [], en: [] }, checks, solve: [] };
}

/**
 * Two labs, the second building on the first:
 *   l1: `listen` (state check `listen`, depends on conf), `act` (evidence `did`, depends on log)
 *   l2: `serve` (state check `serve` on svc, behind the gate `serving`), `read` (evidence `read`)
 */
export function fakeCourse(): Course {
  const l1: Lab = {
    id: "l1",
    dir: "l1",
    title: { de: "Lab 1: Eins", en: "Lab 1: One" },
    intro: { de: "", en: "" },
    requires: [],
    steps: [step("listen", "config", [check("listen")]), step("act", "action", [check("did", { evidence: true, depends: ["log"], machine: "mail" })])],
  };
  const l2: Lab = {
    id: "l2",
    dir: "l2",
    title: { de: "Lab 2: Zwei", en: "Lab 2: Two" },
    intro: { de: "", en: "" },
    requires: ["l1"],
    steps: [
      step("serve", "config", [check("serve", { depends: ["svc"], needs: ["serving"] })]),
      step("read", "action", [check("read", { evidence: true, depends: ["log"], machine: "mail" })]),
    ],
  };
  return {
    id: "fake",
    dir: "/nonexistent",
    title: { de: "Kurs", en: "Course" },
    description: { de: "", en: "" },
    labs: [l1, l2],
    slides: { de: [], en: [] },
    checkLibPath: "",
    inputs: { machine: "mail", scriptPath: "/nonexistent/inputs.sh", names: ["conf", "svc", "log"] },
    gates: [{ id: "serving", title: { de: "dient", en: "serving" }, machine: "mail", script: "gate.sh", scriptPath: "/nonexistent/gate.sh", timeout: 5 }],
  };
}

/** What the fake machines look like now; tests change it between evaluations. */
export interface World {
  inputs: Record<string, string> | undefined;
  /** Check id → passes now. Missing: fails. */
  ok: Record<string, boolean>;
  gate: { ok: boolean; retryAfterS?: number };
}

export function fakeLabs(course: Course, world: World) {
  const runs: Record<string, number> = {};
  const gateRuns = { count: 0 };
  const solved: string[] = [];
  const labs: Labs = {
    course,
    readInputs: async () => (world.inputs ? { ...world.inputs } : undefined),
    async runGate(): Promise<GateOutcome> {
      gateRuns.count++;
      const g = world.gate;
      return {
        ok: g.ok,
        message: g.ok ? { de: "ok", en: "ok" } : { de: "Postfix kann nicht", en: "Postfix cannot serve" },
        hints: g.ok ? { de: [], en: [] } : { de: ["Tippfehler"], en: ["typo"] },
        transcript: "",
        ...(g.retryAfterS !== undefined ? { retryAfterS: g.retryAfterS } : {}),
      };
    },
    async runChecks(_env, _params, checks): Promise<CheckOutcome[]> {
      return checks.map((c) => {
        runs[c.id] = (runs[c.id] ?? 0) + 1;
        const ok = world.ok[c.id] ?? false;
        return {
          id: c.id,
          title: c.title,
          ok,
          message: ok ? { de: `${c.id} gut`, en: `${c.id} good` } : { de: `${c.id} kaputt`, en: `${c.id} broken` },
          ...(ok ? {} : { hints: { de: [`Tipp ${c.id}`], en: [`hint ${c.id}`] } }),
          transcript: "",
          durationMs: 1,
        };
      });
    },
    blocked: (check, gate) => ({ id: check.id, title: check.title, ok: false, message: gate.message, hints: gate.hints, transcript: "", durationMs: 0 }),
    async solveStep(_env, _params, labId, stepId) {
      solved.push(`${labId}/${stepId}`);
    },
  };
  return { labs, runs, gateRuns, solved };
}

export function fakeMachines(): Machines & {
  statuses: Map<string, MachineStatus>;
  created: number;
  /** The warm pool's size as last asked for, and whether members above it were to be removed. */
  pool: { target: number; trim: boolean };
  /** What Docker would do behind the app's back: a new status and notice, announced to onChange listeners. */
  happen(id: string, status: MachineStatus, notice?: MachineNotice): void;
} {
  const statuses = new Map<string, MachineStatus>();
  const notices = new Map<string, MachineNotice>();
  const pool = { target: 0, trim: true };
  const listeners = new Set<(id: string) => void>();
  let n = 0;
  return {
    statuses,
    happen(id, status, notice) {
      statuses.set(id, status);
      if (notice) notices.set(id, notice);
      else notices.delete(id);
      for (const listener of listeners) listener(id);
    },
    notice: (id) => notices.get(id),
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    get created() {
      return n;
    },
    async create() {
      const id = `env${String(++n).padStart(9, "0")}`;
      statuses.set(id, "running");
      return { id, params: PARAMS };
    },
    status: (id) => statuses.get(id) ?? "missing",
    async resume(id) {
      statuses.set(id, "running");
    },
    async waitReady() {},
    async stop(id) {
      statuses.set(id, "stopped");
    },
    async reset(id) {
      statuses.set(id, "running");
    },
    async destroy(id) {
      statuses.delete(id);
    },
    touch() {},
    pool,
    fillPool(size, options) {
      pool.target = size;
      pool.trim = options?.trim ?? true;
    },
    poolStatus: () => ({ ready: 0, target: pool.target }),
  };
}

/** A real SQLite store in a throwaway folder. */
export function tempStore(): { store: Store; events: EventBus; dispose(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), "maillab-unit-"));
  const store = openStore(dir);
  return {
    store,
    events: createEventBus(),
    dispose() {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
