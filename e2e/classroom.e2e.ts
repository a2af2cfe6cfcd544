import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PNG } from "pngjs";
import type { BrowserContext, Page } from "playwright-core";
import type { RunningApp } from "./support/app";
import { typeCommand, waitForStep } from "./support/browser";
import {
  createClass,
  horizontalOverflow,
  joinByLink,
  otherLanguageOn,
  readableText,
  signInInstructor,
  startClassroom,
  type Classroom,
} from "./support/ui";

/**
 * A class as the walkthrough met it (issue 10), in German browsers at device pixel ratio 1 and
 * 1366×768: the join page and the projector's join screen, a new learner who is not red, a passed
 * step that breaks and is repaired ("was done, now broken" on the page and the dashboard), presenter
 * mode that takes open learner pages along, every string in German, the watch view on a phone,
 * the CSV, the end of the class (a results page, no reconnecting) and the instructor's sign-out.
 */
let room: Classroom;
let app: RunningApp;
let teacherCtx: BrowserContext;
let teacher: Page;
let learner: Page;
let cls = { id: "", code: "" };
let envId = "";
const TITLE = "Mailserver Teil 2 – Montag";
const bearer = () => ({ authorization: `Bearer ${app.password}`, "content-type": "application/json" });
/** WebSockets the learner page opened (terminals): after the class ends there must be no new ones. */
let sockets = 0;

beforeAll(async () => {
  room = await startClassroom();
  ({ app, teacherCtx, teacher, learner } = room);
  learner.on("websocket", () => sockets++);
  teacher.on("dialog", (d) => void d.accept());
}, 900_000);

afterAll(async () => {
  await room?.dispose(cls.id);
});

/** Whether an element looks red on screen: most of its pixels are (colours as rendered, not as CSS says). */
async function looksRed(page: Page, testId: string): Promise<boolean> {
  const img = PNG.sync.read(await page.getByTestId(testId).screenshot());
  let red = 0;
  for (let i = 0; i < img.data.length; i += 4) {
    if (img.data[i]! > 150 && img.data[i + 1]! < 110 && img.data[i + 2]! < 110) red++;
  }
  return red > img.width * img.height * 0.4;
}

describe("a class in German browsers", () => {
  it("the join page names the class; an unknown code says so in German; the projector gets a large QR code", async () => {
    await signInInstructor(teacher, app);
    cls = await createClass(teacher, TITLE);
    await learner.goto(`${app.url}/join/ZZZZZZ`);
    expect(await learner.getByTestId("join-unknown").innerText()).toContain("Zu diesem Code gibt es keine Kurssitzung");
    await learner.goto(`${app.url}/join/${cls.code.toLowerCase()}`);
    expect(await learner.getByTestId("join-class-title").innerText()).toBe(TITLE);
    expect(await otherLanguageOn(learner, "de")).toEqual([]);

    await teacher.getByTestId("join-screen-link").click();
    await teacher.getByTestId("join-screen").waitFor();
    expect(await teacher.getByTestId("join-screen-code").innerText()).toBe(cls.code);
    const qr = (await teacher.getByTestId("join-screen-qr").boundingBox())!;
    expect(Math.min(qr.width, qr.height)).toBeGreaterThanOrEqual(500);
    expect(qr.y + qr.height).toBeLessThanOrEqual(768);
    await teacher.goto(`${app.url}/instructor/classes/${cls.id}`);
  });

  it("a new learner is not red: the first step is open, without a ✗ or the answer, on the page and the dashboard", async () => {
    envId = await joinByLink(learner, app, cls.code, "Lena Müller");
    await learner.locator('[data-testid="terminal-status-mail"][data-status="open"]').waitFor({ timeout: 30_000 });
    const step = learner.getByTestId("step-inet-interfaces");
    await learner.locator('[data-testid="step-inet-interfaces"][data-status="fail"]').waitFor({ timeout: 30_000 });
    expect(await step.getAttribute("data-attempted")).toBe("false");
    expect(await learner.getByTestId("step-status-inet-interfaces").innerText()).toBe("noch offen");
    expect(await step.innerText()).not.toContain("✗");
    expect(await learner.getByTestId("hints-inet-interfaces").count()).toBe(0);

    const cell = "cell-Lena Müller-inet-interfaces";
    await teacher.getByTestId(cell).waitFor({ timeout: 15_000 });
    await expect.poll(() => teacher.getByTestId(cell).getAttribute("data-look")).toBe("working");
    for (const l of await teacher.locator('[data-testid^="cell-Lena Müller-"]').all()) {
      expect(await looksRed(teacher, (await l.getAttribute("data-testid"))!)).toBe(false);
    }
    expect(await teacher.getByTestId("learner-status-Lena Müller").innerText()).toMatch(/^aktiv · seit \d+ min$/);
  });

  it("a passed step that breaks says 'was done, now broken' with the reason, on the page and the dashboard, until repaired", async () => {
    await typeCommand(learner, "mail", "postconf -e inet_interfaces=all && systemctl restart postfix");
    await waitForStep(learner, "inet-interfaces", "pass");
    await typeCommand(learner, "mail", "postconf -e inet_interfaces=loopback-only && systemctl restart postfix");
    const broken = learner.locator('[data-testid="step-inet-interfaces"][data-broken="true"]');
    await broken.waitFor({ timeout: 60_000 });
    expect(await broken.getAttribute("data-status")).toBe("pass");
    expect(await learner.getByTestId("step-status-inet-interfaces").innerText()).toBe("war erledigt, jetzt kaputt");
    const note = learner.getByTestId("broken-inet-interfaces");
    expect(await note.innerText()).toContain("Das hat schon funktioniert, jetzt nicht mehr:");
    // The reason, once Postfix is back from its restart: it listens on loopback only.
    await expect.poll(() => note.innerText(), { timeout: 15_000 }).toMatch(/inet_interfaces steht noch auf „loopback-only“/);
    expect(await note.innerText()).not.toContain("`");
    await teacher.locator('[data-testid="cell-Lena Müller-inet-interfaces"][data-broken="true"]').waitFor({ timeout: 15_000 });
    expect(await teacher.getByTestId("cell-Lena Müller-inet-interfaces").getAttribute("aria-label")).toContain("war erledigt, jetzt kaputt");
    expect(await looksRed(teacher, "cell-Lena Müller-inet-interfaces")).toBe(true);

    await typeCommand(learner, "mail", "postconf -e inet_interfaces=all && systemctl restart postfix");
    await learner.locator('[data-testid="step-inet-interfaces"][data-broken="false"][data-status="pass"]').waitFor({ timeout: 60_000 });
    expect(await learner.getByTestId("broken-inet-interfaces").count()).toBe(0);
    await teacher.locator('[data-testid="cell-Lena Müller-inet-interfaces"][data-look="pass"]').waitFor({ timeout: 15_000 });
  });

  it("a step tried without success shows what the checks see and their hints, in amber, not red", async () => {
    await typeCommand(learner, "mail", 'postconf -e "mydestination = localhost" && postfix reload');
    await learner.locator('[data-testid="step-mydestination"][data-attempted="true"]').waitFor({ timeout: 60_000 });
    expect(await learner.getByTestId("step-status-mydestination").innerText()).toBe("noch nicht erledigt");
    const hints = learner.getByTestId("hints-mydestination");
    expect(await hints.locator("li").count()).toBeGreaterThan(0);
    expect(await hints.innerText()).not.toContain("`");
    await teacher.locator('[data-testid="cell-Lena Müller-mydestination"][data-look="tried"]').waitFor({ timeout: 15_000 });
    expect(await looksRed(teacher, "cell-Lena Müller-mydestination")).toBe(false);
  });

  it("presenter mode: turning on 'follow' takes the open learner page to the slides at the instructor's slide", async () => {
    const presenter = await teacherCtx.newPage();
    await presenter.goto(`${app.url}/instructor/classes/${cls.id}/present`);
    // The projected view: notes hidden by default, the language switch at hand.
    expect(await presenter.getByTestId("slide-notes").count()).toBe(0);
    expect(await presenter.getByTestId("notes-toggle").isChecked()).toBe(false);
    await presenter.getByTestId("lang-switch").waitFor();
    for (let i = 0; i < 3; i++) await presenter.getByTestId("slides").press("ArrowRight");
    await expect.poll(() => presenter.getByTestId("slide-counter").innerText()).toMatch(/^4 von \d+$/);
    expect(await learner.getByTestId("panel-steps").getAttribute("aria-selected")).toBe("true");

    await presenter.getByTestId("follow-toggle").check();
    await expect.poll(() => learner.getByTestId("panel-slides").getAttribute("aria-selected"), { timeout: 5_000 }).toBe("true");
    await expect.poll(() => learner.getByTestId("slide-counter").innerText(), { timeout: 5_000 }).toMatch(/^4 von \d+$/);
    await presenter.getByTestId("slides").press("ArrowRight");
    await expect.poll(() => learner.getByTestId("slide-counter").innerText(), { timeout: 5_000 }).toMatch(/^5 von \d+$/);

    // Not following: the learner stays; ticking "follow" again jumps to the instructor's slide at once.
    await learner.getByTestId("follow-instructor").uncheck();
    await presenter.getByTestId("slides").press("ArrowRight");
    await expect.poll(() => presenter.getByTestId("slide-counter").innerText()).toMatch(/^6 von \d+$/);
    await learner.waitForTimeout(1000);
    expect(await learner.getByTestId("slide-counter").innerText()).toMatch(/^5 von \d+$/);
    await learner.getByTestId("follow-instructor").check();
    expect(await learner.getByTestId("slide-counter").innerText()).toMatch(/^6 von \d+$/);
    expect(await otherLanguageOn(presenter, "de")).toEqual([]);

    await presenter.getByTestId("follow-toggle").uncheck();
    await presenter.close();
    await learner.getByTestId("panel-steps").click();
  });

  it("every string is German: lab page, dashboard, the watch view (also on a phone) and the terminal's notices", async () => {
    expect(await otherLanguageOn(learner, "de")).toEqual([]);
    await teacher.goto(`${app.url}/instructor/classes/${cls.id}`);
    await teacher.getByTestId("learner-Lena Müller").waitFor();
    expect(await otherLanguageOn(teacher, "de")).toEqual([]);

    await teacher.getByTestId("watch-Lena Müller").click();
    await teacher.waitForURL(/\/instructor\/environments\/[a-z0-9]{12}$/);
    await teacher.locator('[data-testid="terminal-status-mail"][data-status="open"]').waitFor({ timeout: 30_000 });
    await expect.poll(() => learner.getByTestId("terminal-watched-mail").innerText(), { timeout: 10_000 }).toBe("Ihre Lehrkraft sieht zu");
    expect(await readableText(learner)).not.toMatch(/Instructor|Zuschauer/);
    expect(await otherLanguageOn(teacher, "de")).toEqual([]);

    await teacher.setViewportSize({ width: 390, height: 844 });
    await expect.poll(() => horizontalOverflow(teacher)).toBeLessThanOrEqual(0);
    const term = (await teacher.getByTestId("terminal-mail").boundingBox())!;
    expect(term.x + term.width).toBeLessThanOrEqual(390);
    await teacher.setViewportSize({ width: 1366, height: 768 });
  });

  it("the CSV opens in German Excel: BOM, ';', German headers, steps done by the learner counted apart from skipped ones", async () => {
    const join = await fetch(`${app.url}/api/classes/join`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ code: cls.code, name: "Björn Überspringer" }) });
    const bjorn = (await join.json()) as { id: string };
    const solved = await fetch(`${app.url}/api/environments/${bjorn.id}/solve`, { method: "POST", headers: bearer(), body: JSON.stringify({ upTo: "mydestination" }) });
    expect(solved.status).toBe(200);
    await teacher.goto(`${app.url}/instructor/classes/${cls.id}`);
    const href = (await teacher.getByTestId("export-csv").getAttribute("href"))!;
    const res = await teacher.request.get(`${app.url}${href}`);
    const bytes = await res.body();
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const [header, ...rows] = bytes.subarray(3).toString("utf8").trim().split("\r\n").map((l) => l.split(";"));
    expect(header!.slice(-3)).toEqual(["selbst erledigt", "übersprungen", "Schritte"]);
    const row = (name: string) => rows.find((r) => r[0] === name)!;
    expect(row("Lena Müller").slice(-3)).toEqual(["1", "0", "8"]);
    expect(row("Björn Überspringer").slice(-3)).toEqual(["0", "2", "8"]);
  });

  it("ending the class: the learner sees the results page, no reconnecting, no 'no such environment'; the dashboard says 'ended'", async () => {
    await teacher.getByTestId("end-class").click();
    await learner.getByTestId("class-ended").waitFor({ timeout: 15_000 });
    expect(await learner.getByTestId("class-ended").innerText()).toContain("Die Kurssitzung ist beendet");
    expect(await learner.getByTestId("ended-summary").innerText()).toMatch(/^1 von 8 Schritten erledigt/);
    expect(await learner.locator('[data-testid="step-inet-interfaces"][data-status="pass"]').count()).toBe(1);
    expect(await learner.getByTestId("check-now").count()).toBe(0);
    const after = sockets;
    await learner.waitForTimeout(5000);
    expect(sockets).toBe(after);
    expect(await readableText(learner)).not.toMatch(/Verbindung unterbrochen|no such environment/);
    // "Check now" from a page that missed the end answers in German, with a code the page understands.
    const check = await learner.request.post(`${app.url}/api/environments/${envId}/check`);
    expect(check.status()).toBe(410);
    expect(await check.json()).toMatchObject({ code: "class-ended", error: expect.stringContaining("beendet") });

    await learner.reload();
    await learner.getByTestId("class-ended").waitFor();
    expect(await learner.getByTestId("lab-error").count()).toBe(0);
    expect(await otherLanguageOn(learner, "de")).toEqual([]);

    await teacher.reload();
    await expect.poll(() => teacher.getByTestId("learner-status-Lena Müller").innerText()).toBe("Sitzung beendet");
    expect(await teacher.getByTestId("stuck").count()).toBe(0);
    expect(await teacher.locator('[data-look="working"], [data-look="tried"]').count()).toBe(0);
    expect(await readableText(teacher)).not.toMatch(/Maschinen fehlen|hängt fest|seit \d+ min/);
    expect(await otherLanguageOn(teacher, "de")).toEqual([]);
    // The machines are gone: their watch page is a 404, in German too.
    expect((await teacher.goto(`${app.url}/instructor/environments/${envId}`))!.status()).toBe(404);
    expect(await teacher.getByTestId("not-found").innerText()).toBe("Diese Seite gibt es nicht");
    expect(await otherLanguageOn(teacher, "de")).toEqual([]);
  });

  it("the instructor signs out: the sign-in form is back and the old session no longer works", async () => {
    await teacher.goto(`${app.url}/instructor`);
    await teacher.getByTestId("instructor-logout").click();
    await teacher.getByTestId("instructor-password").waitFor();
    const res = await teacher.request.get(`${app.url}/api/classes`);
    expect(res.status()).toBe(401);
    await teacher.goto(`${app.url}/instructor/classes/${cls.id}`);
    await teacher.getByTestId("instructor-password").waitFor();
  });
});
