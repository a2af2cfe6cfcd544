// `npm run screenshots`: refreshes docs/screenshots/ from a real class, outside `npm test` (tests
// never write tracked files). Starts the app like the browser tests do (e2e/support/app.ts: a
// throwaway data dir and port), drives Debian's Chromium at 1366×768 and a 390×844 phone, device
// pixel ratio 1, in German and English, and writes one PNG per view. Learners type their commands
// into the real terminals; one learner's lab is fast-forwarded to show the move to Lab 12.2.
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { startApp, type RunningApp } from "../e2e/support/app";
import { launchBrowser, typeCommand, waitForStep } from "../e2e/support/browser";
import { createClass, joinByLink, signInInstructor } from "../e2e/support/ui";

const OUT = path.resolve(process.argv[2] ?? "docs/screenshots");
const DESKTOP = { width: 1366, height: 768 };
const PHONE = { width: 390, height: 844 };

async function newPage(browser: Browser, viewport = DESKTOP): Promise<Page> {
  const ctx = await browser.newContext({ viewport, deviceScaleFactor: 1, locale: "de-DE" });
  const page = await ctx.newPage();
  page.on("dialog", (d) => void d.accept());
  return page;
}

async function shot(page: Page, name: string): Promise<void> {
  // Let fonts, terminals and live updates settle: a screenshot is a still of a page in use.
  await page.waitForTimeout(800);
  await page.screenshot({ path: path.join(OUT, `${name}.png`) });
  console.log(`[screenshots] ${name}.png`);
}

async function switchLanguage(page: Page, lang: "de" | "en"): Promise<void> {
  await page.getByTestId("lang-switch").click();
  await page.waitForFunction(`document.documentElement.lang === "${lang}"`);
}

async function solve(app: RunningApp, envId: string, upTo: string): Promise<void> {
  const res = await fetch(`${app.url}/api/environments/${envId}/solve`, {
    method: "POST",
    headers: { authorization: `Bearer ${app.password}`, "content-type": "application/json" },
    body: JSON.stringify({ upTo }),
  });
  if (!res.ok) throw new Error(`solve ${envId} up to ${upTo}: ${res.status} ${await res.text()}`);
}

async function main() {
  mkdirSync(OUT, { recursive: true });
  const app = await startApp();
  const browser = await launchBrowser();
  let classId = "";
  try {
    const teacher = await newPage(browser);
    await signInInstructor(teacher, app);
    const cls = await createClass(teacher, "Mailserver Teil 2 – Montag");
    classId = cls.id;
    await teacher.goto(`${app.url}/instructor/classes/${cls.id}/join-screen`);
    await shot(teacher, "join-screen-de");

    const lena = await newPage(browser);
    await lena.goto(`${app.url}/join/${cls.code}`);
    await lena.getByTestId("join-class-title").waitFor();
    await shot(lena, "join-de");
    await joinByLink(lena, app, cls.code, "Lena Müller");
    const jonas = await newPage(browser);
    await joinByLink(jonas, app, cls.code, "Jonas Becker");
    const aylin = await newPage(browser);
    const aylinEnv = await joinByLink(aylin, app, cls.code, "Aylin Yıldız");
    for (const p of [lena, jonas, aylin]) await p.locator('[data-testid="terminal-status-mail"][data-status="open"]').waitFor({ timeout: 60_000 });

    // Lena: step 1 done by hand, step 2 ahead. Jonas: two steps by hand. Aylin: fast-forwarded, then breaks step 1.
    await typeCommand(lena, "mail", "postconf inet_interfaces");
    await typeCommand(lena, "mail", "postconf -e inet_interfaces=all && systemctl restart postfix");
    await typeCommand(jonas, "mail", "postconf -e inet_interfaces=all && systemctl restart postfix");
    await waitForStep(jonas, "inet-interfaces", "pass");
    const domain = (await jonas.getByTestId("params").locator("dd").first().innerText()).trim();
    await typeCommand(jonas, "mail", `postconf -e "mydestination = \\$myhostname, localhost, ${domain}" && postfix reload`);
    await solve(app, aylinEnv, "mydestination");
    await waitForStep(aylin, "mydestination", "pass");
    await typeCommand(aylin, "mail", "postconf -e inet_interfaces=loopback-only && systemctl restart postfix");
    await waitForStep(lena, "inet-interfaces", "pass");
    await waitForStep(jonas, "mydestination", "pass");
    await aylin.locator('[data-testid="step-inet-interfaces"][data-broken="true"]').waitFor({ timeout: 60_000 });
    await aylin.getByTestId("broken-inet-interfaces").filter({ hasText: "inet_interfaces" }).waitFor({ timeout: 15_000 });

    await shot(lena, "learner-de");
    await shot(aylin, "learner-broken-de");
    await teacher.goto(`${app.url}/instructor/classes/${cls.id}`);
    await teacher.locator('[data-testid="cell-Aylin Yıldız-inet-interfaces"][data-broken="true"]').waitFor({ timeout: 15_000 });
    await shot(teacher, "dashboard-de");

    await switchLanguage(lena, "en");
    await lena.getByTestId("lab-title").filter({ hasText: "Accepting mail from outside" }).waitFor();
    await shot(lena, "learner-en");
    await lena.getByTestId("panel-slides").click();
    await lena.getByTestId("slides").press("ArrowRight");
    await shot(lena, "slides-en");
    await lena.getByTestId("panel-steps").click();
    await switchLanguage(lena, "de");
    await switchLanguage(teacher, "en");
    await teacher.getByText("Export results (CSV)").waitFor();
    await shot(teacher, "dashboard-en");
    await switchLanguage(teacher, "de");

    await teacher.goto(`${app.url}/instructor/classes/${cls.id}/present`);
    for (let i = 0; i < 2; i++) await teacher.getByTestId("slides").press("ArrowRight");
    await shot(teacher, "presenter-de");

    // Lab 12.1 done (fast-forwarded here): the page says it moves on to Lab 12.2.
    await solve(app, lena.url().split("/").at(-1)!, "telnet-mail");
    await lena.getByTestId("lab-advanced").waitFor({ timeout: 30_000 });
    await shot(lena, "learner-next-lab-de");

    const phone = await newPage(browser, PHONE);
    await joinByLink(phone, app, cls.code, "Mia Schmidt");
    await phone.locator('[data-testid="step-inet-interfaces"][data-status="fail"]').waitFor({ timeout: 60_000 });
    await shot(phone, "learner-phone-de");
    await teacher.goto(`${app.url}/instructor/classes/${cls.id}`);
    await teacher.getByTestId("watch-Jonas Becker").click();
    await teacher.locator('[data-testid="terminal-status-mail"][data-status="open"]').waitFor({ timeout: 30_000 });
    await teacher.setViewportSize(PHONE);
    await shot(teacher, "watch-phone-de");
    await teacher.setViewportSize(DESKTOP);

    await teacher.goto(`${app.url}/instructor/classes/${cls.id}`);
    await teacher.getByTestId("end-class").click();
    await jonas.getByTestId("class-ended").waitFor({ timeout: 30_000 });
    await shot(jonas, "class-ended-de");
  } finally {
    if (classId) await fetch(`${app.url}/api/classes/${classId}`, { method: "DELETE", headers: { authorization: `Bearer ${app.password}` } }).catch(() => {});
    await browser.close();
    await app.dispose();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
