import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import type { RunningApp } from "./support/app";
import { createClass, joinByLink, seriousA11yViolations, signInInstructor, startClassroom, type Classroom } from "./support/ui";

/**
 * An automated accessibility scan (axe-core, WCAG 2.1 A/AA and best practices) of every page a
 * learner or an instructor uses, as they see it: German browser, 1366×768, real terminals.
 * No serious or critical violation may remain (docs/accessibility.md).
 */
let room: Classroom;
let app: RunningApp;
let teacher: Page;
let learner: Page;
let cls = { id: "", code: "" };
let envId = "";

beforeAll(async () => {
  room = await startClassroom();
  ({ app, teacher, learner } = room);
}, 900_000);

afterAll(async () => {
  await room?.dispose(cls.id);
});

async function expectNoSerious(page: Page, name: string) {
  const found = await seriousA11yViolations(page);
  expect(found, `${name}: ${JSON.stringify(found, null, 2)}`).toEqual([]);
}

describe("accessibility scan (axe-core)", () => {
  it("home page and instructor sign-in", async () => {
    await learner.goto(`${app.url}/`);
    await learner.getByTestId("start-self-paced").waitFor();
    await expectNoSerious(learner, "home");
    await teacher.goto(`${app.url}/instructor`);
    await teacher.getByTestId("instructor-password").waitFor();
    await expectNoSerious(teacher, "sign-in");
  });

  it("join page and the projector's join screen", async () => {
    await signInInstructor(teacher, app);
    await expectNoSerious(teacher, "instructor home");
    cls = await createClass(teacher, "Barrierefreiheit");
    await learner.goto(`${app.url}/join/${cls.code}`);
    await learner.getByTestId("join-class-title").waitFor();
    await expectNoSerious(learner, "join");
    await teacher.goto(`${app.url}/instructor/classes/${cls.id}/join-screen`);
    await expectNoSerious(teacher, "join screen");
  });

  it("lab page with its terminals, the slides, and the dashboard with a learner", async () => {
    envId = await joinByLink(learner, app, cls.code, "Ada");
    await learner.locator('[data-testid="terminal-status-mail"][data-status="open"]').waitFor({ timeout: 30_000 });
    await learner.locator('[data-testid="step-inet-interfaces"][data-status="fail"]').waitFor({ timeout: 30_000 });
    await expectNoSerious(learner, "lab");
    await learner.getByTestId("panel-slides").click();
    await learner.getByTestId("slides").waitFor();
    await expectNoSerious(learner, "lab slides");
    await learner.getByTestId("panel-steps").click();

    await teacher.goto(`${app.url}/instructor/classes/${cls.id}`);
    await teacher.getByTestId("learner-Ada").waitFor();
    await expectNoSerious(teacher, "dashboard");
  });

  it("presenter and the instructor's view of one learner", async () => {
    await teacher.goto(`${app.url}/instructor/classes/${cls.id}/present`);
    await teacher.getByTestId("slides").waitFor();
    await expectNoSerious(teacher, "presenter");
    await teacher.goto(`${app.url}/instructor/environments/${envId}`);
    await teacher.locator('[data-testid="terminal-status-mail"][data-status="open"]').waitFor({ timeout: 30_000 });
    await expectNoSerious(teacher, "learner detail");
  });

  it("the results page after the class ended", async () => {
    const res = await fetch(`${app.url}/api/classes/${cls.id}`, { method: "DELETE", headers: { authorization: `Bearer ${app.password}` } });
    expect(res.status).toBe(200);
    await learner.getByTestId("class-ended").waitFor({ timeout: 15_000 });
    await expectNoSerious(learner, "class ended");
  });
});
