import { gzipSync } from "node:zlib";
import { startApp } from "../e2e/support/app";
import type { Page } from "playwright-core";
import { clickToPromptMs, launchBrowser } from "../e2e/support/browser";

const RUNS = Number(process.env.BENCH_PAGE_RUNS ?? 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/**
 * The lab page's first-load JavaScript (every script the HTML references, gzipped as a
 * server would send it) and the time from clicking "start" (self-paced) or "join" (a class) to the
 * mail terminal showing a prompt, with a warm environment waiting (docs/design.md §7: ≤ 1.0 s).
 */
export async function benchPage(): Promise<Record<string, number>> {
  const app = await startApp();
  const browser = await launchBrowser();
  const envs: string[] = [];
  try {
    const login = await fetch(`${app.url}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ password: app.password }),
    });
    const cookie = login.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
    const created = await fetch(`${app.url}/api/environments`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${app.password}` },
      body: JSON.stringify({ lab: "12-1" }),
    });
    const env = (await created.json()) as { id: string };
    envs.push(env.id);
    const html = await (await fetch(`${app.url}/lab/${env.id}`, { headers: { cookie } })).text();
    const scripts = [...new Set([...html.matchAll(/<script[^>]+src="([^"]+)"/g)].map((m) => m[1]!))];
    let raw = 0;
    let gz = 0;
    for (const src of scripts) {
      const body = Buffer.from(await (await fetch(new URL(src, app.url))).arrayBuffer());
      raw += body.length;
      gz += gzipSync(body, { level: 9 }).length;
    }

    // "start" / "join" → prompt, measured in the page as the learner sees it: from the click to the
    // frame that shows the prompt (the home and join pages go on to the lab page in the same
    // document), with a warm environment waiting, each in a fresh browser context.
    const untilPrompt = async (page: Page, button: string): Promise<number> => {
      const ms = await clickToPromptMs(page, button);
      envs.push(page.url().split("/").at(-1)!);
      return ms;
    };
    const poolReady = async () => {
      for (;;) {
        const health = (await (await fetch(`${app.url}/api/health`)).json()) as { environments: { pool: { ready: number } } };
        if (health.environments.pool.ready >= 1) return;
        await new Promise((r) => setTimeout(r, 500));
      }
    };
    const startTimes: number[] = [];
    const joinTimes: number[] = [];
    const cls = (await (
      await fetch(`${app.url}/api/classes`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${app.password}` },
        body: JSON.stringify({ title: "Bench", labs: ["12-1", "12-2"] }),
      })
    ).json()) as { id: string; joinCode: string };
    for (let i = 0; i < RUNS; i++) {
      for (const [times, go] of [
        [startTimes, async (page: Page) => {
          await page.goto(`${app.url}/`);
          return untilPrompt(page, "start-self-paced");
        }],
        [joinTimes, async (page: Page) => {
          await page.goto(`${app.url}/join/${cls.joinCode}`);
          await page.getByTestId("join-name").fill(`Bench ${i}`);
          return untilPrompt(page, "join-submit");
        }],
      ] as const) {
        await poolReady();
        await new Promise((r) => setTimeout(r, 1500)); // the pool member's shells are up, as before a class
        const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: "de-DE" });
        times.push(await go(await context.newPage()));
        await context.close();
      }
    }
    await fetch(`${app.url}/api/classes/${cls.id}`, { method: "DELETE", headers: { authorization: `Bearer ${app.password}` } });
    return {
      labPageScripts: scripts.length,
      labPageFirstLoadJsKiBRaw: raw / 1024,
      labPageFirstLoadJsKiBGzip: gz / 1024,
      startToPromptMsMedian: median(startTimes),
      startToPromptMsMax: Math.max(...startTimes),
      joinToPromptMsMedian: median(joinTimes),
      joinToPromptMsMax: Math.max(...joinTimes),
    };
  } finally {
    for (const id of envs) {
      await fetch(`${app.url}/api/environments/${id}`, { method: "DELETE", headers: { authorization: `Bearer ${app.password}` } }).catch(() => {});
    }
    await browser.close();
    await app.dispose();
  }
}
