/**
 * The terminal components in a real browser (Debian's Chromium via
 * playwright-core), without the rest of the app: a tiny page that renders
 * <TerminalTabs> (bundled here with esbuild), served by an HTTP server that
 * also routes /ws/terminal/ upgrades to the real handler, with real shells in
 * a throwaway container. The lead's full-app browser test builds on the same
 * hooks: `terminal-<machine>`, `terminal-status-<machine>` (data-status), `.xterm-rows`.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { build } from "esbuild";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTerminalUpgradeHandler, type TerminalUpgradeHandler } from "@/server/terminals";
import { freshEnvId, removeTestContainer, startTestContainer, testSpawnSpec } from "@/server/terminals/testing";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

const HARNESS = `
import { createRoot } from "react-dom/client";
import { TerminalTabs } from "@/components/terminal/terminal-tabs";
const q = new URLSearchParams(location.search);
createRoot(document.getElementById("root")).render(
  <TerminalTabs envId={q.get("env")} machines={["mail", "partner"]} lang="en" viewer={q.get("viewer") === "1"} />
);
`;

let container = "";
let browser: Browser;
let handler: TerminalUpgradeHandler;
let server: http.Server;
let base = "";

async function bundle(): Promise<{ js: string; css: string }> {
  const out = await build({
    stdin: { contents: HARNESS, loader: "tsx", resolveDir: process.cwd(), sourcefile: "harness.tsx" },
    bundle: true,
    write: false,
    outdir: "/bundle",
    format: "esm",
    jsx: "automatic",
    minify: true,
    define: { "process.env.NODE_ENV": '"production"' },
    logLevel: "error",
  });
  const file = (ext: string) => out.outputFiles.filter((f) => f.path.endsWith(ext)).map((f) => f.text).join("\n");
  return { js: file(".js"), css: file(".css") };
}

beforeAll(async () => {
  container = await startTestContainer();
  const { js, css } = await bundle();
  const page = `<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="stylesheet" href="/app.css">
<style>body{margin:0;font-family:sans-serif} #root{height:520px;width:900px;display:flex;flex-direction:column}
[hidden]{display:none!important} .flex{display:flex} .flex-col{flex-direction:column} .flex-1{flex:1 1 0%} .h-full{height:100%} .min-h-0{min-height:0}</style>
</head><body><div id="root"></div><script type="module" src="/app.js"></script></body></html>`;
  handler = createTerminalUpgradeHandler({
    authorize: (req) =>
      /(^|; )role=instructor/.test(req.headers.cookie ?? "")
        ? { ok: true, role: "instructor", name: "Ms Teacher" }
        : { ok: true, role: "learner", name: "Ada" },
    spawnSpec: () => testSpawnSpec(container),
    pingIntervalMs: 0,
    log: () => {},
  });
  server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/app.js") res.writeHead(200, { "content-type": "text/javascript" }).end(js);
    else if (path === "/app.css") res.writeHead(200, { "content-type": "text/css" }).end(css);
    else res.writeHead(200, { "content-type": "text/html" }).end(page);
  });
  server.on("upgrade", (req, socket, head) => handler(req, socket, head));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
});

afterAll(async () => {
  await browser?.close();
  await handler?.shutdown();
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  if (container) await removeTestContainer(container);
});

const rows = (page: Page, machine: string) => page.locator(`[data-testid="terminal-${machine}"] .xterm-rows`);
const status = (page: Page, machine: string) => page.getByTestId(`terminal-status-${machine}`);

async function openPage(envId: string, opts: { instructor?: boolean } = {}): Promise<Page> {
  const ctx = await browser.newContext();
  if (opts.instructor) await ctx.addCookies([{ name: "role", value: "instructor", url: base }]);
  const page = await ctx.newPage();
  await page.goto(`${base}/?env=${envId}${opts.instructor ? "&viewer=1" : ""}`);
  return page;
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("terminal components in Chromium", () => {
  it("types into the mail terminal, keeps both tabs alive, and fits the pane", async () => {
    const envId = freshEnvId();
    const page = await openPage(envId);
    await until("mail connected", async () => (await status(page, "mail").getAttribute("data-status")) === "open");
    expect(await status(page, "mail").textContent()).toContain("connected");
    await until("prompt", async () => (await rows(page, "mail").textContent())!.includes("# "));

    await page.getByTestId("terminal-mail").click();
    await page.keyboard.type("echo browser-$((20+22)); stty size");
    await page.keyboard.press("Enter");
    const sizeRe = /browser-42\s*(\d+) (\d+)\s*root@/;
    await until("echo and stty output", async () => sizeRe.test((await rows(page, "mail").textContent())!));
    // The terminal was fitted to its 900 px pane (14 px font): wider than the 80-column default.
    const size = sizeRe.exec((await rows(page, "mail").textContent())!)!;
    expect(Number(size[2])).toBeGreaterThan(80);
    expect(Number(size[1])).toBeGreaterThan(10);
    console.log("fitted size (rows cols):", size[1], size[2]);

    // The partner tab: connected while hidden, usable when shown.
    await until("partner connected in the background", async () => (await status(page, "partner").getAttribute("data-status")) === "open");
    await page.getByTestId("terminal-tab-partner").click();
    await expect.poll(() => page.getByTestId("terminal-partner").isVisible()).toBe(true);
    await page.keyboard.type("echo on-partner");
    await page.keyboard.press("Enter");
    // typed echo + output
    await until("partner output", async () => (await rows(page, "partner").textContent())!.split("on-partner").length > 2);
    // Back to mail: its screen is still there (not unmounted).
    await page.getByTestId("terminal-tab-mail").click();
    expect(await rows(page, "mail").textContent()).toContain("browser-42");
    await page.context().close();
  });

  it("reconnects after the server drops the session, with a visible state", async () => {
    const envId = freshEnvId();
    const page = await openPage(envId);
    await until("connected", async () => (await status(page, "mail").getAttribute("data-status")) === "open");
    const seen: string[] = [];
    const poll = setInterval(() => {
      void status(page, "mail")
        .getAttribute("data-status")
        .then((s) => s && seen.push(s))
        .catch(() => {});
    }, 20);
    await handler.closeEnvironment(envId); // 1012 → reconnect to a fresh shell
    await until("connected again", async () => seen.includes("reconnecting") && (await status(page, "mail").getAttribute("data-status")) === "open");
    clearInterval(poll);
    await until("new prompt", async () => (await rows(page, "mail").textContent())!.includes("# "));
    await page.context().close();
  });

  it("shows the learner who is watching and helping; the viewer is read-only until it takes over", async () => {
    const envId = freshEnvId();
    const learner = await openPage(envId);
    await until("learner connected", async () => (await status(learner, "mail").getAttribute("data-status")) === "open");
    const teacher = await openPage(envId, { instructor: true });
    await until("viewer connected", async () => (await status(teacher, "mail").getAttribute("data-status")) === "open");
    expect(await status(teacher, "mail").textContent()).toContain("read-only");
    await until("watched notice", async () => (await learner.getByText("Watching: Ms Teacher").count()) > 0);

    await teacher.getByTestId("terminal-mail").click();
    await teacher.keyboard.type("echo viewer-typed");
    await teacher.keyboard.press("Enter");
    await new Promise((r) => setTimeout(r, 500));
    expect(await rows(learner, "mail").textContent()).not.toContain("viewer-typed");

    await teacher.getByTestId("terminal-control-mail").click();
    await until("helping badge", async () => (await learner.getByTestId("terminal-helping-mail").count()) > 0);
    expect(await learner.getByTestId("terminal-helping-mail").textContent()).toContain("Ms Teacher is helping");
    await teacher.getByTestId("terminal-mail").click();
    await teacher.keyboard.type("echo teacher-$((1+1))");
    await teacher.keyboard.press("Enter");
    await until("teacher's command on the learner's screen", async () => (await rows(learner, "mail").textContent())!.includes("teacher-2"));
    await learner.context().close();
    await teacher.context().close();
  });
});
