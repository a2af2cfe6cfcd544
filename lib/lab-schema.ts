// Lab content format (docs/authoring.md): the zod schemas of the YAML files under
// labs/, and the types of a loaded course and of check results that the server and the UI share.
// Loading (files, existence of scripts, template variables) lives in server/labs/load-course.ts.
import { z } from "zod";
import { machineSchema, scriptMachineSchema } from "./machines";
import type { EnvironmentParams } from "./machines";

export const LANGS = ["de", "en"] as const;
export type LabLang = (typeof LANGS)[number];

/** Every learner-visible text exists in German (the original) and English. */
export const localizedTextSchema = z.strictObject({
  de: z.string().trim().min(1, "German text must not be empty"),
  en: z.string().trim().min(1, "English text must not be empty"),
});
export type LocalizedText = z.infer<typeof localizedTextSchema>;

/** Lists per language (hints). Both languages must have the same number of entries. */
export const localizedListSchema = z
  .strictObject({
    de: z.array(z.string().trim().min(1, "a hint must not be empty")),
    en: z.array(z.string().trim().min(1, "a hint must not be empty")),
  })
  .refine((v) => v.de.length === v.en.length, { message: "de and en must have the same number of entries" });
export type LocalizedList = z.infer<typeof localizedListSchema>;

/** Ids: lowercase letters, digits, dots and dashes (they appear in URLs and CSV headers). */
export const idSchema = z.string().regex(/^[a-z0-9][a-z0-9.-]{0,60}$/, "ids use lowercase letters, digits, '.' and '-'");
/** A file name next to the YAML file that names it: no directories, no "..". */
export const scriptFileSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "a script is a file name in the step's folder (letters, digits, '.', '_', '-')");
export const folderNameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "a folder name (letters, digits, '.', '_', '-')");

// ---- files -------------------------------------------------------------------------------------

/** An input name: what a check's result depends on (see `inputs` below). */
export const inputNameSchema = z.string().regex(/^[a-z][a-z0-9-]{0,30}$/, "input names use lowercase letters, digits and '-'");

/**
 * The course's fingerprint of a machine's state (docs/authoring.md "What a check depends on"): a
 * script in lib/ that prints `<input> <anything>` lines; each input's lines are hashed together.
 * A check is only run again when one of the inputs it `depends` on changed since its last run.
 */
export const inputsFileSchema = z.strictObject({
  machine: scriptMachineSchema,
  /** File name in the course's lib/ folder. */
  script: scriptFileSchema,
  names: z.array(inputNameSchema).min(1),
});

/**
 * A gate: a quick check on one machine that runs before the checks that `need` it; when it fails,
 * those are not run and show the gate's message and hints instead (e.g. "Postfix cannot serve:
 * fatal error in main.cf" rather than probing a broken smtpd into throttling).
 */
export const gateFileSchema = z.strictObject({
  id: idSchema,
  title: localizedTextSchema,
  machine: scriptMachineSchema,
  /** File name in the course's lib/ folder. */
  script: scriptFileSchema,
  timeout: z.number().positive().max(60).default(5),
});

/** `labs/<course>/course.yaml` */
export const courseFileSchema = z.strictObject({
  id: idSchema,
  title: localizedTextSchema,
  description: localizedTextSchema,
  /** Lab folders (beside course.yaml), in teaching order. */
  labs: z.array(folderNameSchema).min(1, "a course needs at least one lab"),
  /** Folder with slides.de.md and slides.en.md (default "slides"). */
  slides: folderNameSchema.default("slides"),
  inputs: inputsFileSchema.optional(),
  gates: z.array(gateFileSchema).default([]),
});
export type CourseFile = z.infer<typeof courseFileSchema>;

/** `labs/<course>/<lab>/lab.yaml` */
export const labFileSchema = z.strictObject({
  id: idSchema,
  title: localizedTextSchema,
  /** Markdown shown above the steps; may use template variables. */
  intro: localizedTextSchema,
  /**
   * Labs whose steps are solved before this lab starts (e.g. Lab 12.2 builds on 12.1).
   * Environments created for this lab are fast-forwarded through them.
   */
  requires: z.array(idSchema).default([]),
  /** Step folders under `steps/`, in order. */
  steps: z.array(folderNameSchema).min(1, "a lab needs at least one step"),
});
export type LabFile = z.infer<typeof labFileSchema>;

export const checkFileSchema = z.strictObject({
  id: idSchema,
  title: localizedTextSchema,
  /** Where the script runs: `probe` (the checks' own machine, maillab-check in the logs), `mail`, `partner`. */
  machine: scriptMachineSchema,
  /** Executable script in the step's folder; exit 0 passes. */
  script: scriptFileSchema,
  /** Seconds (default 15). */
  timeout: z.number().positive().max(300).default(15),
  /**
   * Optional script run on another (or the same) machine only when the check fails, to explain
   * why: its HINT lines are added to the check's hints. Reading config files belongs here.
   */
  explain: z.strictObject({ machine: scriptMachineSchema, script: scriptFileSchema }).optional(),
  /**
   * Inputs (course.yaml `inputs.names`) the result depends on: the check runs again only when one
   * of them changed since its last run. Default: all of them.
   */
  depends: z.array(inputNameSchema).optional(),
  /**
   * Evidence of the learner's own action (their telnet mail, their IMAP login): once it passed, the
   * result is kept for good. Reading or deleting the mail later does not undo what was done.
   */
  evidence: z.boolean().default(false),
  /** Gates (course.yaml `gates`) that must pass before this check runs. */
  needs: z.array(idSchema).default([]),
  /**
   * A guard keeps the learner from breaking what earlier steps achieved (e.g. "not an open relay").
   * It may already pass before its own step's solve; it still fails on a fresh environment.
   */
  guard: z.boolean().default(false),
  /** Run alone, after the step's other checks (which run in parallel). */
  exclusive: z.boolean().default(false),
});
export type CheckFile = z.infer<typeof checkFileSchema>;
export type GateFile = z.infer<typeof gateFileSchema>;

export const solveEntrySchema = z.strictObject({
  machine: machineSchema,
  script: scriptFileSchema,
  /** Seconds (default 120: installing packages takes a while). */
  timeout: z.number().positive().max(900).default(120),
});
export type SolveEntry = z.infer<typeof solveEntrySchema>;

/** `labs/<course>/<lab>/steps/<nn>-<slug>/step.yaml` */
export const stepFileSchema = z.strictObject({
  id: idSchema,
  title: localizedTextSchema,
  /** `config`: the learner changes configuration; `action`: the learner must do something (send a mail, log in). */
  kind: z.enum(["config", "action"]),
  hints: localizedListSchema.default({ de: [], en: [] }),
  checks: z.array(checkFileSchema).min(1, "a step needs at least one check"),
  /** One script, or several run one after another (e.g. send on partner, then wait for delivery on mail). */
  solve: z.union([solveEntrySchema, z.array(solveEntrySchema).min(1)]).transform((s) => (Array.isArray(s) ? s : [s])),
});
export type StepFile = z.infer<typeof stepFileSchema>;

// ---- loaded course (what server and UI use) ------------------------------------------------------

export interface Slide {
  /** The slide's heading without `#`s (empty when the slide has none). */
  title: string;
  /** Markdown after the heading, before `Note:`. */
  body: string;
  /** Speaker notes (Markdown after the line `Note:`), "" when none. */
  notes: string;
}

export interface Check extends Omit<CheckFile, "depends"> {
  /** Absolute path of the script (server side only; the UI ignores it). */
  scriptPath: string;
  explainPath?: string;
  /** Resolved: the course's input names when the file named none. */
  depends: string[];
}

export interface Gate extends GateFile {
  scriptPath: string;
}

export interface CourseInputs {
  machine: z.infer<typeof scriptMachineSchema>;
  scriptPath: string;
  names: string[];
}

export interface SolveStep extends SolveEntry {
  scriptPath: string;
}

export interface Step {
  id: string;
  /** Folder name under `steps/`. */
  dir: string;
  title: LocalizedText;
  kind: "config" | "action";
  /** Task text, Markdown with template variables (render with renderTemplate). */
  task: LocalizedText;
  hints: LocalizedList;
  checks: Check[];
  solve: SolveStep[];
}

export interface Lab {
  id: string;
  dir: string;
  title: LocalizedText;
  intro: LocalizedText;
  requires: string[];
  steps: Step[];
}

export interface Course {
  id: string;
  /** Absolute path of the course folder. */
  dir: string;
  title: LocalizedText;
  description: LocalizedText;
  labs: Lab[];
  slides: Record<LabLang, Slide[]>;
  /** Absolute path of lib/check-lib.sh, sourced before every check and solve script ("" if none). */
  checkLibPath: string;
  /** The state fingerprint checks depend on; without it every check runs every time. */
  inputs?: CourseInputs;
  gates: Gate[];
}

// ---- results -----------------------------------------------------------------------------------

export const checkResultSchema = z.object({
  id: z.string(),
  title: localizedTextSchema.optional(),
  ok: z.boolean(),
  /** The last PASS/FAIL line of the script, or a summary (exit code, timeout). */
  message: z.object({ de: z.string(), en: z.string() }),
  /** HINT lines of a failing check (and of its explain script). */
  hints: z.object({ de: z.array(z.string()), en: z.array(z.string()) }).optional(),
  /** Full output: the SMTP/IMAP dialogue and whatever else the script printed. */
  transcript: z.string().optional(),
  durationMs: z.number().optional(),
});
export type CheckResult = z.infer<typeof checkResultSchema>;

export const stepStatusSchema = z.enum(["pass", "fail", "pending"]);
export type StepStatusValue = z.infer<typeof stepStatusSchema>;

export const stepResultSchema = z.object({
  id: z.string(),
  title: localizedTextSchema,
  status: stepStatusSchema,
  checks: z.array(checkResultSchema),
});
export type StepResult = z.infer<typeof stepResultSchema>;

// ---- templates ---------------------------------------------------------------------------------

/** HELO name of every SMTP dialogue a check runs: evidence checks never count mail or log lines with it. */
export const CHECK_HELO = "maillab-check.invalid";

/** Template variables usable in task texts, intros, titles and hints: `{{domain}}` etc. */
export const TEMPLATE_VARS = ["domain", "mailHost", "user1", "password1", "user2", "password2", "subnet", "mailIp", "partnerIp"] as const;
export type TemplateVar = (typeof TEMPLATE_VARS)[number];

const TEMPLATE_RE = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** Names used in `text` that are not template variables. */
export function unknownTemplateVars(text: string): string[] {
  const unknown = new Set<string>();
  for (const m of text.matchAll(TEMPLATE_RE)) {
    if (!(TEMPLATE_VARS as readonly string[]).includes(m[1]!)) unknown.add(m[1]!);
  }
  return [...unknown];
}

export function templateValues(params: EnvironmentParams): Record<TemplateVar, string> {
  return {
    domain: params.domain,
    mailHost: params.mailHost,
    user1: params.users[0]!.name,
    password1: params.users[0]!.password,
    user2: params.users[1]!.name,
    password2: params.users[1]!.password,
    subnet: params.subnet,
    mailIp: params.mailIp,
    partnerIp: params.partnerIp,
  };
}

/** Replaces `{{var}}` with the environment's values; unknown names stay as written (the loader rejects them). */
export function renderTemplate(text: string, params: EnvironmentParams): string {
  const values: Record<string, string> = templateValues(params);
  return text.replace(TEMPLATE_RE, (whole, name: string) => values[name] ?? whole);
}

/** Step status from its checks: pass when every check passed. */
export function stepStatus(checks: Array<{ ok: boolean }>): "pass" | "fail" {
  return checks.length > 0 && checks.every((c) => c.ok) ? "pass" : "fail";
}
