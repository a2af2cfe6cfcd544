/**
 * The terminal components in a real browser without the rest of the app: a tiny
 * page that renders <TerminalTabs> (bundled here with esbuild, fonts inlined the
 * way Next inlines nothing but serves the same files), served by an HTTP server
 * that routes /ws/terminal/ upgrades to the real handler, with real shells in
 * throwaway containers. Pages are opened in Debian's Chromium (see ./browser.ts).
 *
 * Like the lab view, the page has controls before the terminal tabs (`steps`, and
 * `check` = "Jetzt prüfen") so keyboard tests can see where the focus goes.
 * Query parameters: `env`, `viewer=1`, `lang=de|en`, `w` (width of the terminal
 * pane in px, default 900); `cast=<path>` shows the recording player instead
 * (serve the file with the `files` option). What the tabs report to the page
 * (`onStateChange`) is collected in `window.terminalStates`.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { build } from "esbuild";
import type { Browser, BrowserContextOptions, Page } from "playwright-core";
import { createTerminalUpgradeHandler, type TerminalServerOptions, type TerminalUpgradeHandler } from "@/server/terminals";
import { removeTestContainer, startTestContainer, testSpawnSpec } from "@/server/terminals/testing";
import { launchBrowser } from "./browser";

const HARNESS = `
import { createRoot } from "react-dom/client";
import { TerminalTabs } from "@/components/terminal/terminal-tabs";
import { CastPlayer } from "@/components/terminal/cast-player";
const q = new URLSearchParams(location.search);
const root = document.getElementById("root");
root.style.width = (q.get("w") ?? "900") + "px";
createRoot(root).render(
  q.get("cast") ? (
    <CastPlayer url={q.get("cast")} title="replay" />
  ) : (
    <>
      <div><button data-testid="steps">Schritte</button> <button data-testid="check">Jetzt prüfen</button></div>
      <TerminalTabs
        envId={q.get("env")}
        machines={["mail", "partner"]}
        lang={q.get("lang") ?? "en"}
        viewer={q.get("viewer") === "1"}
        onStateChange={(machine, st) => (window.terminalStates ??= []).push({ machine, status: st.status, closeCode: st.closeCode })}
      />
    </>
  )
);
`;

export interface TerminalHarness {
  base: string;
  handler: TerminalUpgradeHandler;
  browser: Browser;
  /** The container every terminal runs in unless `spawnSpec` was given. */
  container: string;
  /** Upgrade requests so far for an environment (does a client keep retrying?). */
  upgrades(envId: string): number;
  /** A page of the harness for `envId` in a fresh browser context (close it with `page.context().close()`). */
  openPage(
    envId: string,
    opts?: { instructor?: boolean; lang?: "de" | "en"; width?: number; context?: BrowserContextOptions },
  ): Promise<Page>;
  close(): Promise<void>;
}

async function bundle(): Promise<{ js: string; css: string }> {
  const out = await build({
    stdin: { contents: HARNESS, loader: "tsx", resolveDir: process.cwd(), sourcefile: "harness.tsx" },
    bundle: true,
    write: false,
    outdir: "/bundle",
    format: "esm",
    jsx: "automatic",
    minify: true,
    // The shipped terminal font comes inline (one page, no file routes to serve).
    loader: { ".woff2": "dataurl", ".woff": "dataurl" },
    define: { "process.env.NODE_ENV": '"production"' },
    logLevel: "error",
  });
  const file = (ext: string) => out.outputFiles.filter((f) => f.path.endsWith(ext)).map((f) => f.text).join("\n");
  return { js: file(".js"), css: file(".css") };
}

const PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="stylesheet" href="/app.css">
<style>body{margin:0;font-family:sans-serif} #root{height:560px;width:900px;display:flex;flex-direction:column}
[hidden]{display:none!important} .flex{display:flex} .flex-col{flex-direction:column} .flex-1{flex:1 1 0%} .h-full{height:100%} .min-h-0{min-height:0}
.sr-only{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);white-space:nowrap;border:0}</style>
</head><body><div id="root"></div><script type="module" src="/app.js"></script></body></html>`;

/**
 * Starts the harness. `options` override the handler's; by default every terminal is a
 * learner ("Ada") in one throwaway container, and a `role=instructor` cookie makes an instructor.
 */
export async function startTerminalHarness(
  options: Partial<TerminalServerOptions> = {},
  /** Extra files the page server answers, path → body (e.g. a recording for the player). */
  files: Record<string, string> = {},
): Promise<TerminalHarness> {
  const container = await startTestContainer();
  const { js, css } = await bundle();
  const handler = createTerminalUpgradeHandler({
    authorize: (req) =>
      /(^|; )role=instructor/.test(req.headers.cookie ?? "")
        ? { ok: true, role: "instructor", name: "Ms Teacher" }
        : { ok: true, role: "learner", name: "Ada" },
    spawnSpec: () => testSpawnSpec(container),
    pingIntervalMs: 0,
    log: () => {},
    ...options,
  });
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/app.js") res.writeHead(200, { "content-type": "text/javascript" }).end(js);
    else if (path === "/app.css") res.writeHead(200, { "content-type": "text/css" }).end(css);
    else if (path && path in files) res.writeHead(200, { "content-type": "text/plain" }).end(files[path]);
    else res.writeHead(200, { "content-type": "text/html" }).end(PAGE);
  });
  const upgrades = new Map<string, number>();
  server.on("upgrade", (req, socket, head) => {
    const env = /\/ws\/terminal\/([^/?]+)\//.exec(req.url ?? "")?.[1] ?? "";
    upgrades.set(env, (upgrades.get(env) ?? 0) + 1);
    handler(req, socket, head);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = await launchBrowser();

  return {
    base,
    handler,
    browser,
    container,
    upgrades: (envId) => upgrades.get(envId) ?? 0,
    async openPage(envId, opts = {}) {
      const ctx = await browser.newContext(opts.context);
      if (opts.instructor) await ctx.addCookies([{ name: "role", value: "instructor", url: base }]);
      const page = await ctx.newPage();
      const q = new URLSearchParams({
        env: envId,
        lang: opts.lang ?? "en",
        ...(opts.instructor ? { viewer: "1" } : {}),
        ...(opts.width ? { w: String(opts.width) } : {}),
      });
      await page.goto(`${base}/?${q}`);
      return page;
    },
    async close() {
      await browser.close().catch(() => undefined);
      await handler.shutdown();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await removeTestContainer(container);
    },
  };
}

/** Polls `fn` until it holds. */
export async function until(what: string, fn: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The connection status badge's `data-status` of a terminal. */
export function terminalStatus(page: Page, machine: string): Promise<string | null> {
  return page.getByTestId(`terminal-status-${machine}`).getAttribute("data-status");
}

export const terminalRows = (page: Page, machine: string) => page.locator(`[data-testid="terminal-${machine}"] .xterm-rows`);
