/**
 * A whole class on one server (`npm run bench -- class`; docs/design.md §7, docs/performance.md
 * "A class on one server"). Real stack, from outside: the app started as the README starts it,
 * learners joining through the API with their own cookies, terminals over real WebSockets, checks
 * asked for through the API as the "check now" button does.
 *
 * Phases:
 * 1. Join storm after pre-warm: the instructor pre-warms N (default 30) environments, then N
 *    learners join within 10 s of each other; each opens both terminals. Figure: join request →
 *    first prompt in the mail terminal (what the learner waits for), p50 / p95 / max.
 * 2. Join storm without pre-warm: N more learners join within 10 s on a cold pool.
 * 3. Everyone at once: more learners until TOTAL (default 100) environments run, each with both
 *    terminals attached. Figures: memory per environment machine-wide (MemAvailable before the
 *    bench vs now, over the environments), `/api/health` latency while they run.
 * 4. Checks at class rate: every environment asks for a check once every 20 s (5 a second with
 *    100), a quarter of them right after a configuration edit typed into the mail terminal.
 *    Figure: check request latency p50 / p95 / max.
 * The load average is sampled throughout and reported per phase.
 */
import { readFileSync } from "node:fs";
import os from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { startApp, type RunningApp } from "../e2e/support/app";
import { TestTerminal } from "../server/terminals/testing";

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]! : NaN;
};

/** Kilobytes the kernel says are available (free + reclaimable). */
function memAvailableKiB(): number {
  const m = /MemAvailable:\s+(\d+) kB/.exec(readFileSync("/proc/meminfo", "utf8"));
  return Number(m?.[1] ?? NaN);
}

class LoadSampler {
  private samples: number[] = [];
  private timer = setInterval(() => this.samples.push(os.loadavg()[0]!), 2000);
  take(): { median: number; max: number } {
    const out = { median: percentile(this.samples, 50), max: Math.max(0, ...this.samples) };
    this.samples = [];
    return out;
  }
  stop() {
    clearInterval(this.timer);
  }
}

interface Learner {
  id: string;
  cookie: string;
  terminals: TestTerminal[];
}

const prompt = (t: TestTerminal) => /[#$] $/.test(t.textFrom(Math.max(0, t.textLength - 20)));

async function api(app: RunningApp, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${app.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${app.password}`, origin: app.url, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  return { json: text ? JSON.parse(text) : undefined, res };
}

/** One learner joins and opens both terminals; resolves with the join → first mail prompt time. */
async function join(app: RunningApp, code: string, name: string): Promise<{ learner: Learner; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(`${app.url}/api/classes/join`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: app.url },
    body: JSON.stringify({ code, name }),
  });
  if (!res.ok) throw new Error(`join: ${res.status} ${await res.text()}`);
  const cookie = res.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
  const { id } = (await res.json()) as { id: string };
  const ws = app.url.replace(/^http/, "ws");
  const terminals = (["mail", "partner"] as const).map((m) =>
    new TestTerminal(`${ws}/ws/terminal/${id}/${m}`, { headers: { cookie, origin: app.url }, cols: 120, rows: 30 }).connect(),
  );
  await terminals[0]!.until(() => prompt(terminals[0]!), "mail prompt", 300_000);
  const ms = performance.now() - t0;
  await terminals[1]!.until(() => prompt(terminals[1]!), "partner prompt", 300_000);
  return { learner: { id, cookie, terminals }, ms };
}

/** `count` learners join within `spreadMs` of each other (random moments, as a class does). */
async function storm(app: RunningApp, code: string, count: number, spreadMs: number, prefix: string) {
  const results = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      await sleep(Math.random() * spreadMs);
      return join(app, code, `${prefix} ${i + 1}`);
    }),
  );
  const times = results.map((r) => r.ms);
  return { learners: results.map((r) => r.learner), p50: percentile(times, 50), p95: percentile(times, 95), max: Math.max(...times) };
}

export async function benchClass(): Promise<Record<string, number>> {
  const n = Number(process.env.MAILLAB_BENCH_JOINS ?? 30);
  const total = Number(process.env.MAILLAB_BENCH_ENVIRONMENTS ?? 100);
  const app = await startApp({ MAILLAB_WARM_POOL: "0" });
  // After the app started: what the environments add, the server's growth included.
  await sleep(5000);
  const memBefore = memAvailableKiB();
  const load = new LoadSampler();
  const learners: Learner[] = [];
  const classes: string[] = [];
  const out: Record<string, number> = {};
  const classWith = async (title: string) => {
    const { json } = await api(app, "POST", "/api/classes", { title, labs: ["12-1", "12-2"] });
    classes.push((json as { id: string }).id);
    return json as { id: string; joinCode: string };
  };
  try {
    // 1. Pre-warmed join storm.
    const a = await classWith("Bench A (pre-warmed)");
    const t0 = performance.now();
    await api(app, "POST", `/api/classes/${a.id}/prewarm`, { count: n });
    for (;;) {
      const { json } = await api(app, "GET", `/api/classes/${a.id}/prewarm`);
      if ((json as { ready: number }).ready >= n) break;
      await sleep(1000);
    }
    out["prewarm.seconds"] = (performance.now() - t0) / 1000;
    out["prewarm.load.max"] = load.take().max;
    const warm = await storm(app, a.joinCode, n, 10_000, "Warm");
    learners.push(...warm.learners);
    Object.assign(out, { "warmJoin.p50Ms": warm.p50, "warmJoin.p95Ms": warm.p95, "warmJoin.maxMs": warm.max });
    out["warmJoin.load.max"] = load.take().max;

    // 2. Cold join storm.
    const b = await classWith("Bench B (cold)");
    const cold = await storm(app, b.joinCode, n, 10_000, "Cold");
    learners.push(...cold.learners);
    Object.assign(out, { "coldJoin.p50Ms": cold.p50, "coldJoin.p95Ms": cold.p95, "coldJoin.maxMs": cold.max });
    out["coldJoin.load.max"] = load.take().max;

    // 3. Up to `total` environments, every one with both terminals attached.
    const c = await classWith("Bench C (the rest)");
    const t3 = performance.now();
    while (learners.length < total) {
      const batch = Math.min(8, total - learners.length);
      const joined = await Promise.all(Array.from({ length: batch }, (_, i) => join(app, c.joinCode, `Rest ${learners.length + i + 1}`)));
      learners.push(...joined.map((j) => j.learner));
    }
    out["fill.seconds"] = (performance.now() - t3) / 1000;
    await sleep(20_000); // settle: first evaluations, page caches
    const memNow = memAvailableKiB();
    out.environments = learners.length;
    out["memoryPerEnvironmentMiB"] = (memBefore - memNow) / 1024 / learners.length;
    out["fill.load.max"] = load.take().max;

    // 4. Checks at class rate, with /api/health polled meanwhile.
    const checkMs: number[] = [];
    const healthMs: number[] = [];
    const durationMs = Number(process.env.MAILLAB_BENCH_CHECK_SECONDS ?? 120) * 1000;
    const until = performance.now() + durationMs;
    const poller = (async () => {
      while (performance.now() < until) {
        const t = performance.now();
        await fetch(`${app.url}/api/health`);
        healthMs.push(performance.now() - t);
        await sleep(1000);
      }
    })();
    let edits = 0;
    await Promise.all(
      learners.map(async (l, i) => {
        await sleep(Math.random() * 20_000);
        for (let k = 0; performance.now() < until; k++) {
          const started = performance.now();
          if ((i + k) % 4 === 0) {
            // A configuration edit first: the fingerprint changes, the checks really run.
            const mail = l.terminals[0]!;
            const from = mail.textLength;
            const marker = `e${i}x${k}`;
            mail.type(`postconf -e 'delay_warning_time = ${1 + (k % 9)}h'; echo "${marker.slice(0, 2)}""${marker.slice(2)}"\r`);
            await mail.until(() => mail.textFrom(from).includes(marker), "edit", 60_000);
            edits++;
          }
          const t = performance.now();
          await fetch(`${app.url}/api/environments/${l.id}/check`, { method: "POST", headers: { cookie: l.cookie, origin: app.url } });
          checkMs.push(performance.now() - t);
          await sleep(Math.max(0, 20_000 - (performance.now() - started)));
        }
      }),
    );
    await poller;
    const checkLoad = load.take();
    Object.assign(out, {
      "checks.count": checkMs.length,
      "checks.afterEdit": edits,
      "checks.p50Ms": percentile(checkMs, 50),
      "checks.p95Ms": percentile(checkMs, 95),
      "checks.maxMs": Math.max(...checkMs),
      "health.p50Ms": percentile(healthMs, 50),
      "health.p95Ms": percentile(healthMs, 95),
      "health.maxMs": Math.max(...healthMs),
      "checks.load.median": checkLoad.median,
      "checks.load.max": checkLoad.max,
    });
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Math.round(v * 100) / 100]));
  } finally {
    load.stop();
    for (const l of learners) for (const t of l.terminals) t.close();
    // Ending the classes removes their machines (the app's data dir is thrown away with it).
    for (const id of classes) await api(app, "DELETE", `/api/classes/${id}`).catch((e) => console.error(String(e)));
    await app.dispose();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  void benchClass().then((r) => {
    console.table(r);
    process.exit(0);
  });
}
