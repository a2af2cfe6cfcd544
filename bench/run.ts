/**
 * `npm run bench`: the figures of docs/design.md §7 on this machine, as a table and as JSON in
 * bench/results/latest.json. Not a test: it never fails on a slow machine.
 * Select parts with `npm run bench -- environments terminals checks loop disk class page`; `swarm` (Swarm mode on
 * the development Swarm of scripts/dev-swarm.sh, docs/operations.md "Capacity") runs only when named.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";

type Figures = Record<string, number>;
type Part = { name: string; run: () => Promise<Figures>; targets: Record<string, string>; onlyWhenNamed?: boolean };

const parts: Part[] = [
  {
    name: "environments",
    run: async () => (await import("./environments")).benchEnvironments(),
    targets: {
      "runc.create_cold_attachable_ms": "≤ 800",
      "runc.create_warm_attachable_ms": "≤ 200",
      "runc.create_cold_smtp_ms": "≤ 1000",
      "runc.idle_memory_per_env_mib": "≤ 32",
    },
  },
  {
    name: "terminals",
    run: async () => (await import("./terminals")).benchTerminals(),
    targets: { echoP99Ms50: "≤ 25" },
  },
  {
    name: "checks",
    run: async () => (await import("./checks")).benchChecks(),
    targets: {},
  },
  {
    name: "loop",
    run: async () => (await import("./loop")).benchLoop(),
    targets: { "quiet.p95": "≤ 1000", "busy.p95": "≤ 2000", "busy.execsPerCommand": "≈ 0" },
  },
  {
    name: "disk",
    run: async () => (await import("./disk")).benchDisk(),
    targets: { intervalAt100EnvironmentsS: "≤ 30 (overlay2)" },
  },
  {
    name: "swarm",
    run: async () => (await import("./swarm")).benchSwarm(),
    targets: { create_warm_attachable_ms: "≤ 200" },
    // Brings up three extra engines when the dev Swarm is not up: only when asked for.
    onlyWhenNamed: true,
  },
  {
    name: "class",
    run: async () => (await import("./class")).benchClass(),
    targets: {
      "warmJoin.p50Ms": "≤ 1000",
      "warmJoin.p95Ms": "≤ 2000",
      "coldJoin.maxMs": "≤ 60000",
      environments: "≥ 100",
      memoryPerEnvironmentMiB: "≤ 32",
      "checks.p95Ms": "≤ 2000",
      "health.p95Ms": "≤ 500",
    },
  },
  {
    name: "page",
    run: async () => (await import("./page")).benchPage(),
    targets: { labPageFirstLoadJsKiBGzip: "≤ 350", startToPromptMsMedian: "≤ 1000", joinToPromptMsMedian: "≤ 1000", joinToPromptMsMax: "≤ 1500" },
  },
];

async function main() {
  const wanted = process.argv.slice(2);
  const results: Record<string, Figures | { error: string }> = {};
  for (const part of parts) {
    if (wanted.length ? !wanted.includes(part.name) : part.onlyWhenNamed) continue;
    console.log(`\n== ${part.name}`);
    try {
      const figures = await part.run();
      results[part.name] = figures;
      console.table(
        Object.entries(figures).map(([figure, value]) => ({ figure, value: Math.round(value * 10) / 10, target: part.targets[figure] ?? "" })),
      );
    } catch (error) {
      const message = error instanceof Error ? error.stack ?? error.message : String(error);
      results[part.name] = { error: message };
      console.error(`${part.name} failed: ${message}`);
    }
  }
  const out = path.join("bench", "results", "latest.json");
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify({ at: new Date().toISOString(), results }, null, 2));
  console.log(`\nwritten: ${out}`);
  process.exit(0);
}

void main();
