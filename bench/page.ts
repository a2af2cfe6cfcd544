import { gzipSync } from "node:zlib";
import { startApp } from "../e2e/support/app";
import { launchBrowser } from "../e2e/support/browser";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/**
 * The lab page's first-load JavaScript (every script the HTML references, gzipped as a
 * server would send it) and the time from clicking "start" to a terminal showing a prompt.
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

    const startTimes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${app.url}/`);
      const t0 = Date.now();
      await page.getByTestId("start-self-paced").click();
      await page.waitForURL(/\/lab\/[a-z0-9]{12}$/);
      envs.push(page.url().split("/").at(-1)!);
      await page.locator('[data-testid="terminal-mail"] .xterm-rows').filter({ hasText: "root@mail" }).waitFor({ timeout: 60_000 });
      startTimes.push(Date.now() - t0);
      await context.close();
    }
    return {
      labPageScripts: scripts.length,
      labPageFirstLoadJsKiBRaw: raw / 1024,
      labPageFirstLoadJsKiBGzip: gz / 1024,
      startToUsableTerminalMsMedian: median(startTimes),
    };
  } finally {
    for (const id of envs) {
      await fetch(`${app.url}/api/environments/${id}`, { method: "DELETE", headers: { authorization: `Bearer ${app.password}` } }).catch(() => {});
    }
    await browser.close();
    await app.dispose();
  }
}
