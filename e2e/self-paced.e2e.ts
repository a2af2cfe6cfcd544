import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { startApp, type RunningApp } from "./support/app";
import { launchBrowser, typeCommand, waitForStep, waitForTerminalText } from "./support/browser";

/**
 * A self-paced learner: starts without an account, works, reloads the page, and after an
 * app restart finds the same machines (a file they wrote) and the same progress.
 */
let app: RunningApp;
let browser: Browser;
let page: Page;
let envId = "";

beforeAll(async () => {
  app = await startApp();
  browser = await launchBrowser();
  page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
}, 900_000);

afterAll(async () => {
  if (envId) {
    await fetch(`${app.url}/api/environments/${envId}`, { method: "DELETE", headers: { authorization: `Bearer ${app.password}` } }).catch(() => {});
  }
  await browser?.close();
  await app?.dispose();
});

describe("self-paced learner", () => {
  it("starts the course, gets a usable terminal, and a step turns green", async () => {
    await page.goto(`${app.url}/`);
    const clicked = Date.now();
    await page.getByTestId("start-self-paced").click();
    await page.waitForURL(/\/lab\/[a-z0-9]{12}$/);
    envId = page.url().split("/").at(-1)!;
    await page.locator('[data-testid="terminal-status-mail"][data-status="open"]').waitFor({ timeout: 30_000 });
    await waitForTerminalText(page, "mail", /root@mail/);
    console.log(`[self-paced] start → usable terminal: ${Date.now() - clicked} ms`);
    await typeCommand(page, "mail", "echo kept-$((40+2)) > /root/marker; postconf -e inet_interfaces=all && systemctl restart postfix");
    await waitForStep(page, "inet-interfaces", "pass");
  });

  it("reloading the page keeps machines, terminal history and progress", async () => {
    await page.reload();
    await waitForStep(page, "inet-interfaces", "pass", 15_000);
    await waitForTerminalText(page, "mail", /kept-\$\(\(40\+2\)\)/);
  });

  it("after an app restart the same machines and progress are there", async () => {
    await app.restart();
    await page.goto(`${app.url}/lab/${envId}`);
    await waitForStep(page, "inet-interfaces", "pass", 30_000);
    await page.locator('[data-testid="terminal-status-mail"][data-status="open"]').waitFor({ timeout: 30_000 });
    await typeCommand(page, "mail", "cat /root/marker");
    await waitForTerminalText(page, "mail", /kept-42/);
    // The home page offers to continue, not to start over.
    await page.goto(`${app.url}/`);
    await expect.poll(() => page.getByTestId("resume").getAttribute("href")).toBe(`/lab/${envId}`);
  });
});
