import { describe, expect, it } from "vitest";
import { createCheckScheduler } from "./check-scheduler";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("check scheduler", () => {
  it("debounces prompts into one run and reruns once when asked during a run", async () => {
    const runs: string[] = [];
    const s = createCheckScheduler({
      debounceMs: 20,
      run: async (id) => {
        runs.push(id);
        await sleep(50);
      },
    });
    for (let i = 0; i < 5; i++) s.schedule("a");
    await sleep(40);
    expect(runs).toEqual(["a"]);
    s.schedule("a");
    s.schedule("a");
    await sleep(200);
    expect(runs).toEqual(["a", "a"]);
    s.dispose();
  });

  it("caps concurrent runs and resolves now() after its run", async () => {
    let active = 0;
    let peak = 0;
    const s = createCheckScheduler({
      maxConcurrent: 2,
      run: async () => {
        active++;
        peak = Math.max(peak, active);
        await sleep(30);
        active--;
      },
    });
    await Promise.all(["a", "b", "c", "d", "e"].map((id) => s.now(id)));
    expect(peak).toBe(2);
    expect(active).toBe(0);
    s.dispose();
  });
});
