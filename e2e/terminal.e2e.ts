/**
 * The terminal components in a real browser (Debian's Chromium via
 * playwright-core), without the rest of the app: the harness page of
 * e2e/support/terminal-harness.ts renders <TerminalTabs> against the real
 * handler, with real shells in a throwaway container. The full-app browser tests
 * build on the same hooks: `terminal-<machine>`, `terminal-status-<machine>`
 * (data-status), `.xterm-rows`. What the walkthrough found is in terminal-ui.e2e.ts.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshEnvId } from "@/server/terminals/testing";
import { startTerminalHarness, terminalRows, until, type TerminalHarness } from "./support/terminal-harness";

let h: TerminalHarness;

beforeAll(async () => {
  h = await startTerminalHarness();
});

afterAll(async () => {
  await h?.close();
});

const rows = terminalRows;
const status = (page: Page, machine: string) => page.getByTestId(`terminal-status-${machine}`);
const openPage = (envId: string, opts: { instructor?: boolean } = {}) => h.openPage(envId, opts);

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
    // The click moved the keyboard into the partner terminal (what the user types next goes there).
    expect(await page.evaluate(`document.activeElement?.closest('[data-testid="terminal-partner"]') != null`)).toBe(true);
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
    await h.handler.closeEnvironment(envId); // 1012 → reconnect to a fresh shell
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
    await until("watched notice", async () => (await learner.getByText("Your instructor is watching").count()) > 0);

    await teacher.getByTestId("terminal-mail").click();
    await teacher.keyboard.type("echo viewer-typed");
    await teacher.keyboard.press("Enter");
    await new Promise((r) => setTimeout(r, 500));
    expect(await rows(learner, "mail").textContent()).not.toContain("viewer-typed");

    await teacher.getByTestId("terminal-control-mail").click();
    await until("helping badge", async () => (await learner.getByTestId("terminal-helping-mail").count()) > 0);
    expect(await learner.getByTestId("terminal-helping-mail").textContent()).toContain("Your instructor is helping");
    await teacher.getByTestId("terminal-mail").click();
    await teacher.keyboard.type("echo teacher-$((1+1))");
    await teacher.keyboard.press("Enter");
    await until("teacher's command on the learner's screen", async () => (await rows(learner, "mail").textContent())!.includes("teacher-2"));
    await learner.context().close();
    await teacher.context().close();
  });
});
