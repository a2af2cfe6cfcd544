// Loads a course folder (docs/authoring.md) and validates everything an author can
// get wrong before a learner sees it: schema of every YAML file, referenced files, unique ids,
// template variables, both languages, equal slide counts. All problems are collected and reported
// together, each naming the file and the field path.
import { accessSync, constants, existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { parseDocument } from "yaml";
import type { z } from "zod";
import {
  LANGS,
  courseFileSchema,
  labFileSchema,
  stepFileSchema,
  unknownTemplateVars,
  TEMPLATE_VARS,
  type Check,
  type Course,
  type CourseInputs,
  type Gate,
  type Lab,
  type LabLang,
  type LocalizedText,
  type Slide,
  type Step,
} from "@/lib/lab-schema";
import { parseSlides } from "./slides";

export interface LabContentIssue {
  /** Path relative to the folder that holds `labs/` (e.g. `labs/mailserver-teil-2/course.yaml`). */
  file: string;
  /** Field path inside the file (`checks[0].machine`), "" for the file itself. */
  field: string;
  message: string;
}

export class LabContentError extends Error {
  constructor(readonly issues: LabContentIssue[]) {
    super(
      `invalid lab content (${issues.length} problem${issues.length === 1 ? "" : "s"}):\n` +
        issues.map((i) => `  ${i.file}: ${i.field ? `${i.field}: ` : ""}${i.message}`).join("\n"),
    );
    this.name = "LabContentError";
  }
}

/** `labs/mailserver-teil-2` in the working copy (override the labs folder with MAILLAB_LABS_DIR). */
export function defaultCourseDir(): string {
  return path.resolve(process.env.MAILLAB_LABS_DIR ?? path.join(process.cwd(), "labs"), "mailserver-teil-2");
}

function fieldPath(segments: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const s of segments) {
    if (typeof s === "number") out += `[${s}]`;
    else out += out ? `.${String(s)}` : String(s);
  }
  return out;
}

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_value" && "values" in issue) {
    return `expected ${issue.values.map((v) => JSON.stringify(v)).join(" | ")}`;
  }
  if (issue.code === "invalid_type" && /received undefined/.test(issue.message)) {
    return `missing (expected ${issue.expected})`;
  }
  if (issue.code === "invalid_union") return "expected { machine, script } or a list of them";
  return issue.message;
}

class Collector {
  readonly issues: LabContentIssue[] = [];
  constructor(private readonly root: string) {}
  rel(file: string): string {
    return path.relative(this.root, file) || file;
  }
  add(file: string, field: string, message: string): void {
    this.issues.push({ file: this.rel(file), field, message });
  }

  /** Reads and validates one YAML file; undefined (with issues recorded) when it is unusable. */
  yaml<S extends z.ZodType>(file: string, schema: S): z.output<S> | undefined {
    if (!existsSync(file)) {
      this.add(file, "", "file is missing");
      return undefined;
    }
    const doc = parseDocument(readFileSync(file, "utf8"), { prettyErrors: true });
    if (doc.errors.length > 0) {
      for (const e of doc.errors) this.add(file, "", `YAML syntax: ${e.message.split("\n")[0]}`);
      return undefined;
    }
    const parsed = schema.safeParse(doc.toJS());
    if (!parsed.success) {
      for (const issue of parsed.error.issues) this.add(file, fieldPath(issue.path), issueMessage(issue));
      return undefined;
    }
    return parsed.data;
  }

  templates(file: string, field: string, text: string): void {
    const unknown = unknownTemplateVars(text);
    if (unknown.length > 0) {
      this.add(
        file,
        field,
        `unknown template variable${unknown.length > 1 ? "s" : ""} ${unknown.map((u) => `{{${u}}}`).join(", ")} (known: ${TEMPLATE_VARS.join(", ")})`,
      );
    }
  }

  localized(file: string, field: string, value: LocalizedText): void {
    for (const lang of LANGS) this.templates(file, `${field}.${lang}`, value[lang]);
  }

  script(yamlFile: string, field: string, scriptPath: string): void {
    if (!existsSync(scriptPath) || !statSync(scriptPath).isFile()) {
      this.add(yamlFile, field, `script file ${this.rel(scriptPath)} does not exist`);
      return;
    }
    try {
      accessSync(scriptPath, constants.X_OK);
    } catch {
      this.add(yamlFile, field, `script file ${this.rel(scriptPath)} is not executable (chmod +x)`);
    }
    const first = readFileSync(scriptPath, "utf8").split("\n", 1)[0] ?? "";
    if (!/^#!\s*\/(usr\/)?bin\/(env\s+)?bash\b/.test(first)) {
      this.add(yamlFile, field, `script file ${this.rel(scriptPath)} must start with #!/bin/bash (scripts run in bash)`);
    }
  }
}

function readText(c: Collector, file: string): string | undefined {
  if (!existsSync(file)) {
    c.add(file, "", "file is missing");
    return undefined;
  }
  const text = readFileSync(file, "utf8");
  if (text.trim() === "") {
    c.add(file, "", "file is empty");
    return undefined;
  }
  return text;
}

/** What steps may refer to at course level: the input names and the gates. */
interface CourseRefs {
  inputNames: string[];
  gateIds: Set<string>;
}

function loadStep(c: Collector, labDir: string, folder: string, stepIds: Map<string, string>, refs: CourseRefs): Step | undefined {
  const dir = path.join(labDir, "steps", folder);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    c.add(path.join(labDir, "lab.yaml"), "steps", `step folder steps/${folder} does not exist`);
    return undefined;
  }
  const file = path.join(dir, "step.yaml");
  const data = c.yaml(file, stepFileSchema);
  const task: Partial<Record<LabLang, string>> = {};
  for (const lang of LANGS) {
    const taskFile = path.join(dir, `task.${lang}.md`);
    const text = readText(c, taskFile);
    if (text !== undefined) {
      c.templates(taskFile, "", text);
      task[lang] = text;
    }
  }
  if (!data) return undefined;

  const previous = stepIds.get(data.id);
  if (previous) c.add(file, "id", `duplicate step id "${data.id}" (also used by ${previous})`);
  else stepIds.set(data.id, c.rel(file));

  c.localized(file, "title", data.title);
  for (const lang of LANGS) data.hints[lang].forEach((h, i) => c.templates(file, `hints.${lang}[${i}]`, h));

  const checkIds = new Set<string>();
  const checks: Check[] = data.checks.map((check, i) => {
    if (checkIds.has(check.id)) c.add(file, `checks[${i}].id`, `duplicate check id "${check.id}" in this step`);
    checkIds.add(check.id);
    c.localized(file, `checks[${i}].title`, check.title);
    const scriptPath = path.join(dir, check.script);
    c.script(file, `checks[${i}].script`, scriptPath);
    let explainPath: string | undefined;
    if (check.explain) {
      explainPath = path.join(dir, check.explain.script);
      c.script(file, `checks[${i}].explain.script`, explainPath);
    }
    (check.depends ?? []).forEach((name, k) => {
      if (!refs.inputNames.includes(name)) {
        c.add(file, `checks[${i}].depends[${k}]`, `unknown input "${name}" (course.yaml inputs.names: ${refs.inputNames.join(", ") || "none"})`);
      }
    });
    check.needs.forEach((gate, k) => {
      if (!refs.gateIds.has(gate)) c.add(file, `checks[${i}].needs[${k}]`, `unknown gate "${gate}" (course.yaml gates: ${[...refs.gateIds].join(", ") || "none"})`);
    });
    return { ...check, depends: check.depends ?? refs.inputNames, scriptPath, ...(explainPath ? { explainPath } : {}) };
  });
  const solve = data.solve.map((entry, i) => {
    const scriptPath = path.join(dir, entry.script);
    c.script(file, data.solve.length > 1 ? `solve[${i}].script` : "solve.script", scriptPath);
    return { ...entry, scriptPath };
  });
  if (task.de === undefined || task.en === undefined) return undefined;
  return { id: data.id, dir: folder, title: data.title, kind: data.kind, task: { de: task.de, en: task.en }, hints: data.hints, checks, solve };
}

function loadLab(c: Collector, courseDir: string, folder: string, labIds: Map<string, string>, stepIds: Map<string, string>, refs: CourseRefs): Lab | undefined {
  const dir = path.join(courseDir, folder);
  const courseFile = path.join(courseDir, "course.yaml");
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    c.add(courseFile, "labs", `lab folder ${folder} does not exist`);
    return undefined;
  }
  const file = path.join(dir, "lab.yaml");
  const data = c.yaml(file, labFileSchema);
  if (!data) return undefined;
  const previous = labIds.get(data.id);
  if (previous) c.add(file, "id", `duplicate lab id "${data.id}" (also used by ${previous})`);
  for (const [i, req] of data.requires.entries()) {
    if (!labIds.has(req)) c.add(file, `requires[${i}]`, `"${req}" is not a lab listed before this one in course.yaml`);
  }
  labIds.set(data.id, c.rel(file));
  c.localized(file, "title", data.title);
  c.localized(file, "intro", data.intro);

  const seenFolders = new Set<string>();
  data.steps.forEach((s, i) => {
    if (seenFolders.has(s)) c.add(file, `steps[${i}]`, `step folder ${s} is listed twice`);
    seenFolders.add(s);
  });
  const stepsDir = path.join(dir, "steps");
  if (existsSync(stepsDir)) {
    for (const entry of readdirSync(stepsDir, { withFileTypes: true })) {
      if (entry.isDirectory() && !seenFolders.has(entry.name)) {
        c.add(file, "steps", `folder steps/${entry.name} exists but is not listed (add it or remove it)`);
      }
    }
  }
  const steps = [...seenFolders].map((s) => loadStep(c, dir, s, stepIds, refs));
  if (steps.some((s) => s === undefined)) return undefined;
  return { id: data.id, dir: folder, title: data.title, intro: data.intro, requires: data.requires, steps: steps as Step[] };
}

function loadSlides(c: Collector, slidesDir: string): Record<LabLang, Slide[]> | undefined {
  const out: Partial<Record<LabLang, Slide[]>> = {};
  for (const lang of LANGS) {
    const file = path.join(slidesDir, `slides.${lang}.md`);
    const text = readText(c, file);
    if (text === undefined) continue;
    const slides = parseSlides(text);
    slides.forEach((s, i) => {
      if (!s.title) c.add(file, `slide ${i + 1}`, "a slide must start with a heading (`## Title`, or `# Title` on the title slide)");
    });
    out[lang] = slides;
  }
  if (!out.de || !out.en) return undefined;
  if (out.de.length !== out.en.length) {
    c.add(path.join(slidesDir, "slides.en.md"), "", `has ${out.en.length} slides, slides.de.md has ${out.de.length}: both languages need the same slides`);
    return undefined;
  }
  return { de: out.de, en: out.en };
}

/**
 * Loads and validates a course folder. Throws LabContentError listing every problem.
 * `root` is what file names in messages are relative to (default: the folder holding `labs/`).
 */
export function loadCourse(courseDir: string = defaultCourseDir(), root?: string): Course {
  const dir = path.resolve(courseDir);
  const c = new Collector(root ?? path.dirname(path.dirname(dir)));
  const courseFile = path.join(dir, "course.yaml");
  const data = c.yaml(courseFile, courseFileSchema);
  if (!data) throw new LabContentError(c.issues);
  c.localized(courseFile, "title", data.title);
  c.localized(courseFile, "description", data.description);

  const libDir = path.join(dir, "lib");
  let inputs: CourseInputs | undefined;
  if (data.inputs) {
    const scriptPath = path.join(libDir, data.inputs.script);
    c.script(courseFile, "inputs.script", scriptPath);
    inputs = { machine: data.inputs.machine, scriptPath, names: data.inputs.names };
  }
  const gates: Gate[] = data.gates.map((gate, i) => {
    c.localized(courseFile, `gates[${i}].title`, gate.title);
    const scriptPath = path.join(libDir, gate.script);
    c.script(courseFile, `gates[${i}].script`, scriptPath);
    return { ...gate, scriptPath };
  });
  const refs: CourseRefs = { inputNames: inputs?.names ?? [], gateIds: new Set(gates.map((g) => g.id)) };

  const labIds = new Map<string, string>();
  const stepIds = new Map<string, string>();
  const seen = new Set<string>();
  const labs: Array<Lab | undefined> = [];
  data.labs.forEach((folder, i) => {
    if (seen.has(folder)) c.add(courseFile, `labs[${i}]`, `lab folder ${folder} is listed twice`);
    else labs.push(loadLab(c, dir, folder, labIds, stepIds, refs));
    seen.add(folder);
  });
  const slides = loadSlides(c, path.join(dir, data.slides));

  const checkLibPath = path.join(libDir, "check-lib.sh");
  if (c.issues.length > 0 || !slides) throw new LabContentError(c.issues);
  return {
    id: data.id,
    dir,
    title: data.title,
    description: data.description,
    labs: labs as Lab[],
    slides,
    checkLibPath: existsSync(checkLibPath) ? checkLibPath : "",
    ...(inputs ? { inputs } : {}),
    gates,
  };
}

/** Finds a step by lab and step id. */
export function findStep(course: Course, labId: string, stepId: string): { lab: Lab; step: Step } {
  const lab = course.labs.find((l) => l.id === labId);
  if (!lab) throw new Error(`unknown lab "${labId}" (known: ${course.labs.map((l) => l.id).join(", ")})`);
  const step = lab.steps.find((s) => s.id === stepId);
  if (!step) throw new Error(`unknown step "${stepId}" in lab ${labId} (known: ${lab.steps.map((s) => s.id).join(", ")})`);
  return { lab, step };
}
