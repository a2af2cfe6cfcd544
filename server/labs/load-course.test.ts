import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { renderTemplate, unknownTemplateVars } from "@/lib/lab-schema";
import { SAMPLE_PARAMS } from "./__fixtures__/params";
import { LabContentError, loadCourse } from "./load-course";
import { parseSlides } from "./slides";

const FIXTURE = path.join(import.meta.dirname, "__fixtures__", "labs", "mini");
const temps: string[] = [];

/** A copy of the mini course in labs/mini under a temp root, to break on purpose. */
function copyFixture(): { root: string; dir: string } {
  const root = mkdtempSync(path.join(tmpdir(), "maillab-labs-"));
  temps.push(root);
  const dir = path.join(root, "labs", "mini");
  cpSync(FIXTURE, dir, { recursive: true });
  return { root, dir };
}

function edit(file: string, change: (text: string) => string): void {
  writeFileSync(file, change(readFileSync(file, "utf8")));
}

function issuesOf(dir: string): string[] {
  try {
    loadCourse(dir);
  } catch (error) {
    expect(error).toBeInstanceOf(LabContentError);
    return (error as LabContentError).message.split("\n").slice(1).map((l) => l.trim());
  }
  throw new Error("expected the course to be rejected");
}

afterEach(() => {
  for (const t of temps.splice(0)) rmSync(t, { recursive: true, force: true });
});

describe("the real course", () => {
  it("loads and has both labs with ordered steps, checks and solve scripts", () => {
    const course = loadCourse();
    expect(course.id).toBe("mailserver-teil-2");
    expect(course.labs.map((l) => l.id)).toEqual(["12-1", "12-2"]);
    expect(course.labs[0]!.steps.map((s) => s.id)).toEqual(["inet-interfaces", "mydestination", "no-open-relay", "telnet-mail"]);
    expect(course.labs[1]!.steps.map((s) => s.id)).toEqual(["install-dovecot", "imap-pop3-login", "smtp-auth", "smtptest-mail"]);
    expect(course.labs[1]!.requires).toEqual(["12-1"]);
    for (const lab of course.labs) {
      for (const step of lab.steps) {
        expect(step.checks.length).toBeGreaterThan(0);
        expect(step.solve.length).toBeGreaterThan(0);
        expect(step.task.de.length).toBeGreaterThan(50);
        expect(step.task.en.length).toBeGreaterThan(50);
      }
    }
    expect(course.checkLibPath).toMatch(/lib\/check-lib\.sh$/);
  });

  it("has the same number of slides in German and English, each with a title", () => {
    const course = loadCourse();
    expect(course.slides.de.length).toBeGreaterThan(5);
    expect(course.slides.en.length).toBe(course.slides.de.length);
    for (const s of [...course.slides.de, ...course.slides.en]) expect(s.title).not.toBe("");
  });

  it("renders task texts with an environment's parameters", () => {
    const course = loadCourse();
    const params = SAMPLE_PARAMS;
    const text = renderTemplate(course.labs[0]!.steps[1]!.task.de, params);
    expect(text).toContain("alice@k7qa.example.test");
    expect(text).not.toMatch(/\{\{/);
  });
});

describe("the mini fixture", () => {
  it("loads", () => {
    const course = loadCourse(FIXTURE);
    expect(course.labs[0]!.steps[0]!.checks[0]!.timeout).toBe(15);
    expect(course.labs[0]!.steps[0]!.solve).toHaveLength(1);
    expect(course.labs[0]!.steps[0]!.checks[0]!.scriptPath).toBe(path.join(FIXTURE, "lab-a", "steps", "01-hello", "check.sh"));
  });
});

describe("broken content is rejected naming file and field", () => {
  it("missing title.en", () => {
    const { dir } = copyFixture();
    edit(path.join(dir, "lab-a/steps/01-hello/step.yaml"), (t) => t.replace("title: { de: Hallo, en: Hello }", "title: { de: Hallo }"));
    expect(issuesOf(dir)).toContain("labs/mini/lab-a/steps/01-hello/step.yaml: title.en: missing (expected string)");
  });

  it("a machine that does not exist", () => {
    const { dir } = copyFixture();
    edit(path.join(dir, "lab-a/steps/01-hello/step.yaml"), (t) => t.replace("machine: mail\n    script", "machine: smtp\n    script"));
    expect(issuesOf(dir)).toContain('labs/mini/lab-a/steps/01-hello/step.yaml: checks[0].machine: expected "mail" | "partner" | "probe"');
  });

  it("an unknown template variable in a task text and in a hint", () => {
    const { dir } = copyFixture();
    edit(path.join(dir, "lab-a/steps/01-hello/task.en.md"), (t) => t + "\nLog in as {{user3}}.\n");
    edit(path.join(dir, "lab-a/steps/01-hello/step.yaml"), (t) => t.replace("Hint {{user1}}", "Hint {{usr1}}"));
    const issues = issuesOf(dir);
    expect(issues.find((i) => i.startsWith("labs/mini/lab-a/steps/01-hello/task.en.md: unknown template variable {{user3}}"))).toBeDefined();
    expect(issues.find((i) => i.startsWith("labs/mini/lab-a/steps/01-hello/step.yaml: hints.en[0]: unknown template variable {{usr1}}"))).toBeDefined();
  });

  it("a missing script file", () => {
    const { dir } = copyFixture();
    rmSync(path.join(dir, "lab-a/steps/01-hello/check.sh"));
    expect(issuesOf(dir)).toContain("labs/mini/lab-a/steps/01-hello/step.yaml: checks[0].script: script file labs/mini/lab-a/steps/01-hello/check.sh does not exist");
  });

  it("a script that is not executable", () => {
    const { dir } = copyFixture();
    chmodSync(path.join(dir, "lab-a/steps/01-hello/solve.sh"), 0o644);
    expect(issuesOf(dir)).toContain("labs/mini/lab-a/steps/01-hello/step.yaml: solve.script: script file labs/mini/lab-a/steps/01-hello/solve.sh is not executable (chmod +x)");
  });

  it("a duplicate step id", () => {
    const { dir } = copyFixture();
    cpSync(path.join(dir, "lab-a/steps/01-hello"), path.join(dir, "lab-a/steps/02-again"), { recursive: true });
    edit(path.join(dir, "lab-a/lab.yaml"), (t) => t.replace("steps: [01-hello]", "steps: [01-hello, 02-again]"));
    expect(issuesOf(dir)).toContain('labs/mini/lab-a/steps/02-again/step.yaml: id: duplicate step id "hello" (also used by labs/mini/lab-a/steps/01-hello/step.yaml)');
  });

  it("a duplicate check id, an unknown key and a bad timeout", () => {
    const { dir } = copyFixture();
    edit(path.join(dir, "lab-a/steps/01-hello/step.yaml"), (t) =>
      t.replace(
        "solve:",
        "  - id: greet\n    title: { de: Nochmal, en: Again }\n    machine: partner\n    script: check.sh\n    timeout: -1\n    tiemout: 3\nsolve:",
      ),
    );
    const issues = issuesOf(dir);
    expect(issues.find((i) => i.startsWith("labs/mini/lab-a/steps/01-hello/step.yaml: checks[1].timeout:"))).toBeDefined();
    expect(issues.find((i) => i.startsWith("labs/mini/lab-a/steps/01-hello/step.yaml: checks[1]:") && i.includes("tiemout"))).toBeDefined();
  });

  it("a step folder that is not listed, and a listed one that is missing", () => {
    const { dir } = copyFixture();
    cpSync(path.join(dir, "lab-a/steps/01-hello"), path.join(dir, "lab-a/steps/09-forgotten"), { recursive: true });
    edit(path.join(dir, "lab-a/lab.yaml"), (t) => t.replace("steps: [01-hello]", "steps: [01-hello, 02-missing]"));
    const issues = issuesOf(dir);
    expect(issues).toContain("labs/mini/lab-a/lab.yaml: steps: folder steps/09-forgotten exists but is not listed (add it or remove it)");
    expect(issues).toContain("labs/mini/lab-a/lab.yaml: steps: step folder steps/02-missing does not exist");
  });

  it("a missing English task text and unequal slide counts", () => {
    const { dir } = copyFixture();
    rmSync(path.join(dir, "lab-a/steps/01-hello/task.en.md"));
    edit(path.join(dir, "slides/slides.en.md"), (t) => t + "\n---\n\n## Extra\n\nOnly in English.\n");
    const issues = issuesOf(dir);
    expect(issues).toContain("labs/mini/lab-a/steps/01-hello/task.en.md: file is missing");
    expect(issues).toContain("labs/mini/slides/slides.en.md: has 4 slides, slides.de.md has 3: both languages need the same slides");
  });

  it("YAML syntax errors", () => {
    const { dir } = copyFixture();
    edit(path.join(dir, "course.yaml"), (t) => t.replace("labs: [lab-a]", "labs: [lab-a"));
    expect(issuesOf(dir)[0]).toMatch(/^labs\/mini\/course\.yaml: YAML syntax: /);
  });
});

describe("slides", () => {
  it("parses title, body and notes, ignoring comments and --- inside code", () => {
    const slides = parseSlides(readFileSync(path.join(FIXTURE, "slides/slides.de.md"), "utf8"));
    expect(slides).toHaveLength(3);
    expect(slides[0]).toEqual({ title: "Titel", body: "Autor", notes: "Notiz zum Titel." });
    expect(slides[1]!.title).toBe("Zweite Folie");
    expect(slides[1]!.body).toContain("---\nkein Trenner");
    expect(slides[1]!.notes).toBe("Sprechernotiz\nüber zwei Zeilen.");
    expect(slides[2]).toEqual({ title: "Dritte", body: "Ohne Notizen.", notes: "" });
  });
});

describe("templates", () => {
  it("finds unknown variables, allowing spaces inside the braces", () => {
    expect(unknownTemplateVars("{{domain}} {{ user1 }} {{nope}} {{ also-not }}")).toEqual(["nope", "also-not"]);
  });
});
