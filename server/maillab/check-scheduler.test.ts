import { describe, expect, it } from "vitest";
import { SCHEDULE, createCheckScheduler } from "./check-scheduler";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("check scheduler", () => {
  it("runs after a prompt, looks again later, and runs exactly once more when asked during a run", async () => {
    const runs: Array<{ id: string; at: number; force: boolean }> = [];
    const t0 = performance.now();
    const s = createCheckScheduler({
      run: async (id, { force }) => {
        runs.push({ id, at: performance.now() - t0, force });
        await sleep(100);
      },
    });
    s.prompt("a");
    s.prompt("a");
    s.prompt("a");
    await sleep(SCHEDULE.promptMs + 50);
    // Three prompts at once: one run now, one queued behind it (never more than one).
    expect(runs.length).toBe(1);
    await sleep(150);
    expect(runs.length).toBe(2);
    await sleep(SCHEDULE.followUpsMs.at(-1)! + 200);
    // The follow-up looks came too (each run is cheap when nothing changed).
    expect(runs.length).toBeGreaterThanOrEqual(3);
    expect(runs.at(-1)!.at).toBeGreaterThanOrEqual(SCHEDULE.followUpsMs.at(-1)! - 10);
    expect(runs.every((r) => r.id === "a" && !r.force)).toBe(true);
    s.dispose();
  });

  it("caps concurrent runs, and now() forces a run and resolves after it", async () => {
    let active = 0;
    let peak = 0;
    const forced: string[] = [];
    const s = createCheckScheduler({
      maxConcurrent: 2,
      run: async (id, { force }) => {
        if (force) forced.push(id);
        active++;
        peak = Math.max(peak, active);
        await sleep(30);
        active--;
      },
    });
    await Promise.all(["a", "b", "c", "d", "e"].map((id) => s.now(id)));
    expect(peak).toBe(2);
    expect(active).toBe(0);
    expect(forced.sort()).toEqual(["a", "b", "c", "d", "e"]);
    s.dispose();
  });

  it("asks again when a run says so (a gate's RETRY_AFTER), and forget() cancels it", async () => {
    let runs = 0;
    const s = createCheckScheduler({
      run: async () => {
        runs++;
        return { retryAfterMs: 80 };
      },
    });
    s.schedule("a");
    await sleep(50);
    expect(runs).toBe(1);
    await sleep(100);
    expect(runs).toBe(2);
    s.forget("a");
    await sleep(200);
    expect(runs).toBe(2);
    s.dispose();
  });

  it("a new environment's first look comes after its delay, unless something else evaluated it first", async () => {
    const runs: string[] = [];
    const s = createCheckScheduler({ run: async (id) => void runs.push(id) });
    s.first("a", 150);
    s.first("b", 150);
    await s.now("b"); // "check now" before the first look: that look is not needed any more
    expect(runs).toEqual(["b"]);
    await sleep(250);
    expect(runs).toEqual(["b", "a"]);
    s.first("c", 100);
    s.forget("c");
    await sleep(150);
    expect(runs).toEqual(["b", "a"]);
    s.dispose();
  });
  it("exclusive() waits for the run in progress and holds new runs until it is done", async () => {
    const log: string[] = [];
    const s = createCheckScheduler({
      run: async () => {
        log.push("run start");
        await sleep(80);
        log.push("run end");
      },
    });
    s.schedule("a");
    await sleep(10);
    const held = s.exclusive("a", async () => {
      log.push("solve start");
      s.schedule("a"); // a prompt during the solve scripts
      await sleep(80);
      log.push("solve end");
      return 42;
    });
    expect(await held).toBe(42);
    await sleep(150);
    expect(log).toEqual(["run start", "run end", "solve start", "solve end", "run start", "run end"]);
    s.dispose();
  });
  it("now() right after a command resolves after the next run, not after the follow-up looks behind it", async () => {
    // Runs as long as on a busy machine after a config edit: the follow-ups land during runs.
    const s = createCheckScheduler({ run: async () => void (await sleep(500)) });
    s.prompt("a");
    await sleep(SCHEDULE.promptMs + 20); // the prompt's run is in progress
    const t = performance.now();
    await s.now("a");
    const took = performance.now() - t;
    // The run in progress ends (~480 ms left), then the forced one (500 ms). Waiting until no
    // follow-up is queued any more took one run longer (the 1000 ms look lands in the forced run).
    expect(took).toBeGreaterThan(900);
    expect(took).toBeLessThan(1250);
    s.dispose();
  });
});
