import { chromium, type Browser, type Page } from "playwright-core";

/** Debian's Chromium, never a downloaded browser (docs/design.md §2). */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      // The machine's network is closed: without these Chromium keeps dialling out.
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
    ],
  });
}

/** The visible text of a terminal, read from xterm's DOM rows. */
export async function terminalText(page: Page, machine: string): Promise<string> {
  return page.locator(`[data-testid="terminal-${machine}"] .xterm-rows`).innerText();
}

export async function waitForTerminalText(page: Page, machine: string, pattern: RegExp, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = "";
  while (Date.now() < deadline) {
    text = await terminalText(page, machine).catch(() => "");
    if (pattern.test(text)) return text;
    await page.waitForTimeout(200);
  }
  throw new Error(`terminal ${machine} never showed ${pattern}; it shows:\n${text}`);
}

/** Types a command into a terminal like a person: focus, keys, Enter. */
export async function typeCommand(page: Page, machine: string, command: string): Promise<void> {
  await page.locator(`[data-testid="terminal-tab-${machine}"]`).click();
  await page.locator(`[data-testid="terminal-${machine}"]`).click();
  await page.keyboard.type(command, { delay: 5 });
  await page.keyboard.press("Enter");
}

export async function waitForStep(page: Page, stepId: string, status: "pass" | "fail", timeoutMs = 60_000): Promise<void> {
  await page.locator(`[data-testid="step-${stepId}"][data-status="${status}"]`).waitFor({ timeout: timeoutMs });
}

/**
 * Clicks a button that leads to the lab page (home's "start", the join form's "join") and returns
 * the ms from the click to the frame that shows the mail terminal's prompt, measured in the page
 * as the learner sees it (both pages go on to the lab page in the same document). Looked for at
 * every frame: a locator's waitFor backs off to polling every 0.5 s, which would add up to that much.
 * The page's code is given as text: this file is type-checked without the DOM (tsconfig.server.json).
 */
export async function clickToPromptMs(page: Page, buttonTestId: string): Promise<number> {
  await page.evaluate(`document.addEventListener("click", () => { window.__clickedAt ??= performance.now(); }, { capture: true })`);
  await page.getByTestId(buttonTestId).click();
  const shown = await page.waitForFunction(
    `(document.querySelector('[data-testid="terminal-mail"] .xterm-rows')?.textContent ?? "").includes("root@mail") && window.__clickedAt !== undefined
      ? performance.now() - window.__clickedAt
      : false`,
    null,
    { polling: "raf", timeout: 60_000 },
  );
  return Math.round(Number(await shown.jsonValue()));
}
