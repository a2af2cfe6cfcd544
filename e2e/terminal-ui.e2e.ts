/**
 * What the walkthrough and the security probe found in the browser terminals, in
 * Debian's Chromium against the real terminal server and real shells in throwaway
 * containers (e2e/support/terminal-harness.ts), typed into as a user would:
 *
 * - underscores visible at device pixel ratio 1 (the shipped font and cell height);
 * - Shift+Tab leaves the terminal, Tab still completes, the way out is announced,
 *   screen-reader mode is a remembered toggle;
 * - after a machines reset the terminals come back by themselves, without exec errors;
 * - an instructor at another width sees the learner's screen as the learner does;
 * - "class ended" / "environment removed" stop the terminal with a clear message;
 * - keys typed while the terminal is still connecting reach the shell.
 */
import { PNG } from "pngjs";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TerminalCloseCode } from "@/lib/terminal-protocol";
import { freshEnvId, testSpawnSpec, TestMachines } from "@/server/terminals/testing";
import { startTerminalHarness, terminalRows, terminalStatus, until, type TerminalHarness } from "./support/terminal-harness";

let h: TerminalHarness;
/** Environments with their own named machines (reset tests); the rest share the harness container. */
const machines = new Map<string, TestMachines>();
/** Environments whose shell starts slowly (a cold `docker exec`), to type before `ready`. */
const slow = new Set<string>();

/** A recording as the server writes it (asciicast v2), for the replay player. */
const CAST = [
  JSON.stringify({ version: 2, width: 80, height: 24, timestamp: 1764280000 }),
  JSON.stringify([0.1, "o", "root@mail:~# printf '%s\\n' a_b\r\n"]),
  JSON.stringify([0.2, "o", "a_b\r\n"]),
].join("\n");

beforeAll(async () => {
  h = await startTerminalHarness(
    {
      spawnSpec: async (envId) => {
        if (slow.has(envId)) await new Promise((r) => setTimeout(r, 2500));
        return testSpawnSpec(machines.get(envId)?.name("mail") ?? h.container);
      },
    },
    { "/recording.cast": CAST },
  );
});

afterAll(async () => {
  await h?.close();
  await Promise.all([...machines.values()].map((m) => m.remove()));
});

async function openReady(envId: string, opts: Parameters<TerminalHarness["openPage"]>[1] = {}): Promise<Page> {
  const page = await h.openPage(envId, opts);
  await until("terminal open", async () => (await terminalStatus(page, "mail")) === "open", 30_000);
  await until("prompt", async () => /# $/m.test((await terminalRows(page, "mail").innerText()).trimEnd() + " "), 30_000);
  return page;
}

async function typeLine(page: Page, text: string): Promise<void> {
  await page.getByTestId("terminal-mail").click();
  await page.keyboard.type(text, { delay: 5 });
  await page.keyboard.press("Enter");
}

/** Runs `js` in the page (a string: e2e code is type-checked without DOM types). */
const inPage = <T = unknown>(page: Page, js: string): Promise<T> => page.evaluate(js) as Promise<T>;

const rowsText = async (page: Page, machine = "mail") => (await terminalRows(page, machine).innerText()).replace(/\u00a0/g, " ");

/** Pixels in a PNG that are clearly foreground (bright) on the terminal's dark background. */
function brightPixels(png: Buffer): number {
  const img = PNG.sync.read(png);
  let n = 0;
  for (let i = 0; i < img.data.length; i += 4) {
    const lum = 0.2126 * img.data[i]! + 0.7152 * img.data[i + 1]! + 0.0722 * img.data[i + 2]!;
    if (lum > 90) n++;
  }
  return n;
}

/**
 * Screenshots the three cells of a row reading exactly "a_b" inside `host` and counts
 * their bright pixels: x from the glyphs' text range, y and height from xterm's row box.
 */
async function aUnderscoreB(page: Page, host: string): Promise<{ a: number; underscore: number; b: number; font: string }> {
  const cells = await inPage<{ x: number; y: number; width: number; height: number }[] | null>(
    page,
    `(() => {
      const rows = [...document.querySelectorAll('${host} .xterm-rows > div')];
      const row = rows.find((r) => r.textContent.replace(/\\u00a0/g, " ").trimEnd() === "a_b");
      const text = row?.querySelector("span")?.firstChild ?? row?.firstChild;
      if (!row || !text) return null;
      const rowBox = row.getBoundingClientRect();
      return [0, 1, 2].map((i) => {
        const range = document.createRange();
        range.setStart(text, i);
        range.setEnd(text, i + 1);
        const r = range.getBoundingClientRect();
        return { x: r.left, y: rowBox.top, width: r.width, height: rowBox.height };
      });
    })()`,
  );
  expect(cells).not.toBeNull();
  const [a, underscore, b] = await Promise.all(cells!.map(async (clip) => brightPixels(await page.screenshot({ clip }))));
  console.log(`underscore cell ${JSON.stringify(cells![1])}: ${underscore} bright pixels`);
  const font = await inPage<string>(page, `getComputedStyle(document.querySelector('${host} .xterm-rows')).fontFamily`);
  return { a: a!, underscore: underscore!, b: b!, font };
}

describe("terminal text", () => {
  const ratio1 = { deviceScaleFactor: 1, viewport: { width: 1000, height: 700 } };

  it("shows underscores at device pixel ratio 1 (shipped font, cells tall enough)", async () => {
    const page = await openReady(freshEnvId(), { context: ratio1 });
    await typeLine(page, "printf '%s\\n' a_b");
    await until("a_b printed", async () => /^a_b$/m.test(await rowsText(page)));
    const px = await aUnderscoreB(page, '[data-testid="terminal-mail"]');
    // Sanity: the letters around it are drawn (the clip is where the text is).
    expect(px.a).toBeGreaterThan(5);
    expect(px.b).toBeGreaterThan(5);
    // An underscore at 14 px is a line about 7 px wide and 1 px high.
    expect(px.underscore).toBeGreaterThanOrEqual(4);
    expect(px.font).toContain("DejaVu Mono"); // the shipped font, not the system's
    await page.context().close();
  });

  it("the instructor's recording player draws them too", async () => {
    const page = await h.browser.newPage(ratio1);
    await page.goto(`${h.base}/?cast=/recording.cast`);
    await page.locator('[data-testid="replay-state"][data-state="done"]').waitFor({ timeout: 15_000 });
    const px = await aUnderscoreB(page, '[data-testid="replay"]');
    expect(px.a).toBeGreaterThan(5);
    expect(px.underscore).toBeGreaterThanOrEqual(4);
    expect(px.font).toContain("DejaVu Mono");
    await page.close();
  });
});

describe("keyboard and screen readers", () => {
  it("Tab completes in the shell, Escape stays in it, Shift+Tab leaves it and reaches “Jetzt prüfen”", async () => {
    const page = await openReady(freshEnvId());
    const inTerminal = () => inPage<boolean>(page, `Boolean(document.activeElement?.closest('[data-testid="terminal-mail"]'))`);
    await page.getByTestId("terminal-mail").click();
    expect(await inTerminal()).toBe(true);
    // Tab reaches the shell: "ech<Tab>" completes to "echo ".
    await page.keyboard.type("ech");
    await page.keyboard.press("Tab");
    await page.keyboard.type("completed-$((40+2))");
    await page.keyboard.press("Enter");
    await until("completion ran", async () => /^completed-42$/m.test(await rowsText(page)));

    // The way out is announced on the terminal's input and shown in its toolbar.
    const hint = await inPage<string | null>(
      page,
      `(() => {
        const id = document.activeElement?.getAttribute("aria-describedby");
        return id ? document.getElementById(id)?.textContent ?? null : null;
      })()`,
    );
    expect(hint).toContain("Shift+Tab");
    expect(await page.getByTestId("terminal-keyboard-hint-mail").isVisible()).toBe(true);

    // Shift+Tab leaves; a few more reach the check button (before the terminal, as in the lab view).
    await page.keyboard.press("Shift+Tab");
    expect(await inTerminal()).toBe(false);
    let reached = false;
    for (let i = 0; i < 10 && !reached; i++) {
      reached = await inPage<boolean>(page, `document.activeElement?.getAttribute("data-testid") === "check"`);
      if (!reached) await page.keyboard.press("Shift+Tab");
    }
    expect(reached).toBe(true);
    await page.keyboard.press("Enter"); // a keyboard user can press it
    // And back in with Tab: the terminal still types.
    for (let i = 0; i < 10 && !(await inTerminal()); i++) await page.keyboard.press("Tab");
    expect(await inTerminal()).toBe(true);
    await page.keyboard.type("echo back-$((1+1))");
    await page.keyboard.press("Enter");
    await until("typed after coming back", async () => /^back-2$/m.test(await rowsText(page)));
    // Escape belongs to the programs (vi, nano, readline): it does not leave.
    await page.keyboard.press("Escape");
    expect(await inTerminal()).toBe(true);
    await page.context().close();
  });

  it("screen-reader mode is a toggle, on for both terminals, remembered across reloads", async () => {
    const envId = freshEnvId();
    const page = await openReady(envId);
    const a11yTree = () => page.locator('[data-testid="terminal-mail"] .xterm-accessibility').count();
    expect(await a11yTree()).toBe(0);
    const toggle = page.getByTestId("terminal-screen-reader-mail");
    expect(await toggle.getAttribute("aria-pressed")).toBe("false");
    await toggle.focus();
    await page.keyboard.press("Enter");
    await until("screen reader mode on", async () => (await toggle.getAttribute("aria-pressed")) === "true");
    await until("xterm's accessible output", async () => (await a11yTree()) > 0);
    expect(await page.getByTestId("terminal-screen-reader-partner").getAttribute("aria-pressed")).toBe("true");
    await typeLine(page, "echo spoken-$((2*21))");
    await until("output in the accessible tree", async () =>
      ((await page.locator('[data-testid="terminal-mail"] .xterm-accessibility-tree').textContent()) ?? "").includes("spoken-42"),
    );
    await page.reload();
    await until("terminal open again", async () => (await terminalStatus(page, "mail")) === "open");
    expect(await page.getByTestId("terminal-screen-reader-mail").getAttribute("aria-pressed")).toBe("true");
    await until("still on after reload", async () => (await a11yTree()) > 0);
    await page.getByTestId("terminal-screen-reader-mail").click();
    await until("off again", async () => (await a11yTree()) === 0);
    await page.context().close();
  });
});

describe("machines reset", () => {
  it("terminals come back on the new machines by themselves, without exec errors or exit codes", async () => {
    const envId = freshEnvId();
    const m = await TestMachines.create(envId);
    machines.set(envId, m);
    const page = await openReady(envId);
    await typeLine(page, "touch /root/on-the-old-machine; echo marked");
    await until("marked", async () => /^marked$/m.test(await rowsText(page)));

    const seen = new Set<string>();
    const texts: string[] = [];
    let watching = true;
    const watch = (async () => {
      while (watching) {
        const s = await terminalStatus(page, "mail").catch(() => null);
        if (s) seen.add(s);
        texts.push(await page.getByTestId("terminal-status-mail").innerText().catch(() => ""));
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    // As the app does on "Maschinen zurücksetzen": close terminals first, then replace the machines.
    await h.handler.resetEnvironment(envId, () => m.reset());
    await until("open again", async () => (await terminalStatus(page, "mail")) === "open", 30_000);
    await until("a prompt on the new machine", async () => /# $/m.test((await rowsText(page)).trimEnd() + " "), 30_000);
    watching = false;
    await watch;

    expect(seen.has("resetting")).toBe(true);
    expect([...seen].filter((s) => s === "exited" || s === "failed")).toEqual([]);
    expect(texts.some((t) => /reset/i.test(t))).toBe(true);
    const screen = await rowsText(page);
    expect(screen).not.toMatch(/OCI runtime|exec failed|connection reset by peer|code 1[23][67]/);
    expect(await page.getByTestId("terminal-restart-mail").count()).toBe(0);
    // It really is the new machine, and it types.
    await typeLine(page, "ls /root/on-the-old-machine 2>&1 | grep -c 'No such file'");
    await until("new machine", async () => /^1$/m.test(await rowsText(page)));
    await page.context().close();
  });
});

describe("an instructor watching at another width", () => {
  it("renders the learner's session at the learner's size, also for a late viewer after a resize", async () => {
    const envId = freshEnvId();
    const learner = await openReady(envId, { width: 1100 });
    const teacher = await openReady(envId, { instructor: true, width: 560 });
    /** The width of xterm's rows (cols × cell width; the same font on both pages). */
    const cols = (p: Page) =>
      inPage<number>(p, `Math.round(document.querySelector('[data-testid="terminal-mail"] .xterm-rows > div').getBoundingClientRect().width)`);
    // A long line that wraps, edited with readline (cursor moves across the wrap).
    await typeLine(learner, "echo inet_interfaces smtpd_sasl_auth_enable smtpd_tls_cert_file smtpd_tls_key_file smtpd_relay_restrictions mydestination myhostname mynetworks");
    await learner.keyboard.type("echo smtpd_sasl_type smtpd_sasl_path smtpd_tls_security_level smtpd_recipient_restrictions virtual_mailbox_domains");
    await learner.keyboard.press("Home");
    await learner.keyboard.press("Control+ArrowRight");
    await learner.keyboard.type(" inserted_word");
    await learner.keyboard.press("End");
    await learner.keyboard.press("Enter");
    await until("output on the learner's screen", async () => /^smtpd_sasl_type/m.test(await rowsText(learner)) || /inserted_word smtpd_sasl_type/.test(await rowsText(learner)));
    const same = async (a: Page, b: Page) => (await rowsText(a)).trimEnd() === (await rowsText(b)).trimEnd();
    await until("the viewer shows exactly the learner's screen", () => same(learner, teacher), 10_000).catch(async (e: unknown) => {
      console.log(`learner:\n${await rowsText(learner)}\nviewer:\n${await rowsText(teacher)}`);
      throw e;
    });
    expect(await cols(teacher)).toBe(await cols(learner));
    expect(await rowsText(teacher)).not.toMatch(/_pathmail|~# .*~#/);

    // The learner's pane gets narrower twice (the pty follows), with output at each size; then
    // a second viewer joins late: its replay has output at three sizes and must render like
    // the learner's screen (each byte at the size it was written at).
    for (const [i, width] of [760, 640].entries()) {
      const before = await cols(learner);
      await inPage(learner, `document.getElementById("root").style.width = "${width}px"`);
      await until("learner refitted", async () => (await cols(learner)) < before, 10_000);
      await typeLine(learner, `echo after_resize_${i}_$((6*7)) smtpd_tls_loglevel smtpd_tls_received_header smtpd_tls_session_cache_database`);
      await until("after resize", async () => new RegExp(`after_resize_${i}_42`).test(await rowsText(learner)));
    }
    const late = await openReady(envId, { instructor: true, width: 600 });
    await until("the late viewer shows the learner's screen", () => same(learner, late), 10_000).catch(async (e: unknown) => {
      console.log(`learner:\n${await rowsText(learner)}\nlate viewer:\n${await rowsText(late)}`);
      throw e;
    });
    await until("the first viewer follows the resize", () => same(learner, teacher), 10_000);
    for (const p of [learner, teacher, late]) await p.context().close();
  });
});

describe("the end of an environment", () => {
  it.each([
    ["class-ended", "de", "Die Kurssitzung ist beendet"],
    ["removed", "en", "This environment was removed"],
  ] as const)("%s: the terminal stops reconnecting and says so (%s)", async (why, lang, message) => {
    const envId = freshEnvId();
    const page = await openReady(envId, { lang });
    const before = h.upgrades(envId);
    await h.handler.removeEnvironment(envId, why);
    await until("ended", async () => (await terminalStatus(page, "mail")) === "ended");
    expect(await page.getByTestId("terminal-status-mail").innerText()).toContain(message);
    await until("partner ended too", async () => (await terminalStatus(page, "partner")) === "ended");
    // The page around the terminals hears of it (to show its own "class ended" view).
    const told = await inPage<{ machine: string; status: string; closeCode: number | null }[]>(page, "window.terminalStates");
    const code = why === "class-ended" ? TerminalCloseCode.CLASS_ENDED : TerminalCloseCode.ENVIRONMENT_REMOVED;
    expect(told).toContainEqual({ machine: "mail", status: "ended", closeCode: code });
    await new Promise((r) => setTimeout(r, 3000));
    expect(h.upgrades(envId)).toBe(before); // no retry loop
    expect(await page.getByText(lang === "de" ? "Verbindung unterbrochen" : "connection lost").count()).toBe(0);
    // A page opened afterwards (a reload) is told the same at once.
    await page.reload();
    await until("ended after reload", async () => (await terminalStatus(page, "mail")) === "ended");
    expect(await page.getByTestId("terminal-status-mail").innerText()).toContain(message);
    await page.context().close();
  });
});

describe("typing early", () => {
  it("keys typed while the terminal is still connecting reach the shell", async () => {
    const envId = freshEnvId();
    slow.add(envId); // the shell takes 2.5 s to start
    const page = await h.openPage(envId);
    await until("terminal mounted", async () => (await page.locator('[data-testid="terminal-mail"] .xterm-rows').count()) > 0);
    expect(await terminalStatus(page, "mail")).toBe("connecting");
    await page.getByTestId("terminal-mail").click();
    await page.keyboard.type("echo early-$((20+3))");
    await page.keyboard.press("Enter");
    expect(await terminalStatus(page, "mail")).toBe("connecting"); // typed before the shell was there
    await until("early keys arrived", async () => /^early-23$/m.test(await rowsText(page)), 30_000);
    await page.context().close();
  });
});
