import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Browser, BrowserContext, Page } from "playwright-core";
import type { Lang } from "@/lib/api-types";
import { messagesOf, type MessageKey } from "@/lib/i18n";
import { terminalStrings } from "@/components/terminal/strings";
import { startApp, type RunningApp } from "./app";
import { launchBrowser } from "./browser";

/**
 * Helpers for the browser tests of the pages (issue 10): sign-in and join as users do, the
 * other language's words on a page, horizontal overflow, and an axe-core scan.
 * Page code is passed as strings: e2e/ is type-checked without DOM types.
 */

/** A German instructor and a German learner, each in their own browser context at 1366×768, ratio 1. */
export interface Classroom {
  app: RunningApp;
  browser: Browser;
  teacherCtx: BrowserContext;
  learnerCtx: BrowserContext;
  teacher: Page;
  learner: Page;
  /** Ends the class (if one was made), closes the browser and stops the app. */
  dispose(classId?: string): Promise<void>;
}

export async function startClassroom(): Promise<Classroom> {
  const app = await startApp();
  const browser = await launchBrowser();
  const de = { viewport: { width: 1366, height: 768 }, deviceScaleFactor: 1, locale: "de-DE" };
  const teacherCtx = await browser.newContext(de);
  const learnerCtx = await browser.newContext(de);
  return {
    app,
    browser,
    teacherCtx,
    learnerCtx,
    teacher: await teacherCtx.newPage(),
    learner: await learnerCtx.newPage(),
    async dispose(classId) {
      if (classId) await fetch(`${app.url}/api/classes/${classId}`, { method: "DELETE", headers: { authorization: `Bearer ${app.password}` } }).catch(() => {});
      await browser.close();
      await app.dispose();
    },
  };
}

export async function signInInstructor(page: Page, app: RunningApp): Promise<void> {
  await page.goto(`${app.url}/instructor`);
  await page.getByTestId("instructor-password").fill(app.password);
  await page.getByTestId("instructor-login").click();
  await page.getByTestId("class-title").waitFor();
}

/** Creates a class in the instructor's page; returns its id and join code. */
export async function createClass(page: Page, title: string): Promise<{ id: string; code: string }> {
  await page.getByTestId("class-title").fill(title);
  await page.getByTestId("class-create").click();
  await page.waitForURL(/\/instructor\/classes\/[a-z0-9]{10}$/);
  return { id: page.url().split("/").at(-1)!, code: (await page.getByTestId("join-code-display").innerText()).trim() };
}

/** Joins through the join link as a learner would; returns the environment id. */
export async function joinByLink(page: Page, app: RunningApp, code: string, name: string): Promise<string> {
  await page.goto(`${app.url}/join/${code}`);
  await page.getByTestId("join-name").fill(name);
  await page.getByTestId("join-submit").click();
  await page.waitForURL(/\/lab\/[a-z0-9]{12}$/);
  return page.url().split("/").at(-1)!;
}

/** What a user reads: visible text plus labels and tooltips, without terminal output and code. */
export async function readableText(page: Page): Promise<string> {
  return page.evaluate(`(() => {
    const parts = [];
    const attrs = [...document.querySelectorAll("[aria-label],[title],[placeholder],[alt]")]
      .filter((el) => !el.closest(".xterm"))
      .flatMap((el) => ["aria-label", "title", "placeholder", "alt"].map((a) => el.getAttribute(a)).filter(Boolean));
    const clone = document.body.cloneNode(true);
    for (const el of clone.querySelectorAll(".xterm, code, pre, script, style, [hidden]")) el.remove();
    parts.push(clone.innerText || clone.textContent || "", ...attrs);
    return parts.join("\\n");
  })()`);
}

/** Words the app used to show untranslated (the walkthrough's list, issue 10). */
const KNOWN_LEAKS: Record<Lang, string[]> = {
  de: ["Instructor", "missing", "running", "no such environment", "this class has ended", "unknown join code", "Watching:", "is helping"],
  en: ["Zuschauer", "hilft gerade", "hängt fest", "Maschinen fehlen", "Kurssitzung", "beendet"],
};

function phrasesOf(lang: Lang, other: Lang): string[] {
  const mine = messagesOf(lang);
  const theirs = messagesOf(other);
  const fromUi = (Object.keys(theirs) as MessageKey[]).filter((k) => theirs[k] !== mine[k]).map((k) => theirs[k]);
  const termMine: Record<string, unknown> = { ...terminalStrings(lang) };
  const termTheirs: Record<string, unknown> = { ...terminalStrings(other) };
  const fromTerminal = Object.entries(termTheirs).flatMap(([k, v]) => (typeof v === "string" && v !== termMine[k] ? [v] : []));
  return [...fromUi, ...fromTerminal]
    .flatMap((v) => v.split(/\{\w+\}|[.:…–()]/))
    .map((v) => v.trim())
    .filter((v) => v.length >= 6 && /\p{L}{3}/u.test(v));
}

/** Phrases of the other language (UI dictionary, terminal strings, known leaks) found on a page in `lang`. */
export async function otherLanguageOn(page: Page, lang: Lang): Promise<string[]> {
  const text = await readableText(page);
  const other: Lang = lang === "de" ? "en" : "de";
  const phrases = [...new Set([...phrasesOf(lang, other), ...KNOWN_LEAKS[lang]])];
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return phrases.filter((p) => new RegExp(`(?<![\\p{L}])${escape(p)}(?![\\p{L}])`, "u").test(text));
}

/** How far the page is wider than its window (0 = fits). */
export async function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate("document.documentElement.scrollWidth - window.innerWidth") as Promise<number>;
}

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

export interface AxeFinding {
  id: string;
  impact: string;
  help: string;
  targets: string[];
}

/** Runs axe-core (WCAG 2.x A/AA rules) in the page; returns the serious and critical violations. */
export async function seriousA11yViolations(page: Page): Promise<AxeFinding[]> {
  if (!(await page.evaluate("typeof window.axe !== 'undefined'"))) await page.addScriptTag({ content: AXE_SOURCE });
  const violations = (await page.evaluate(`axe.run(document, {
    runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] },
    resultTypes: ["violations"],
  }).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(" ")).slice(0, 5) })))`)) as AxeFinding[];
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical");
}
