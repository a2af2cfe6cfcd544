import { z } from "zod";
import { environmentIdSchema } from "./machines";

/** Bodies of the automation API (docs/api.md), parsed where they enter with zod. */
const labId = z.string().regex(/^[a-z0-9][a-z0-9.-]{0,40}$/, "lab id: lowercase letters, digits, '.' or '-'");
const stepId = z.string().regex(/^[a-z0-9][a-z0-9.-]{0,60}$/, "step id: lowercase letters, digits, '.' or '-'");

export const createEnvironmentBody = z.strictObject({ lab: labId });
export const solveBody = z.strictObject({ upTo: stepId });
export const createClassBody = z.strictObject({
  title: z.string().trim().min(1, "title must not be empty").max(120, "title: at most 120 characters"),
  labs: z.array(labId).min(1, "labs: name at least one lab").max(20),
});
/** Join codes are 6 letters/digits; learners may type them lower-case or with a dash/space. */
export const joinCodeSchema = z
  .string()
  .transform((s) => s.replace(/[\s-]/g, "").toUpperCase())
  .pipe(z.string().regex(/^[A-Z0-9]{6}$/, "code: 6 letters or digits"));
export const joinBody = z.strictObject({
  code: joinCodeSchema,
  name: z.string().trim().min(1, "name must not be empty").max(40, "name: at most 40 characters"),
});
export const loginBody = z.strictObject({ password: z.string().min(1).max(200) });
export const startSelfPacedBody = z.strictObject({
  name: z.string().trim().max(40).optional(),
  lab: labId.optional(),
});
export const prewarmBody = z.strictObject({ count: z.number().int().min(0).max(200) });
export const presenterBody = z.strictObject({
  slide: z.number().int().min(0).max(999).optional(),
  follow: z.boolean().optional(),
});
export const switchLabBody = z.strictObject({ lab: labId });
export const environmentIdParam = environmentIdSchema;
export const classIdParam = z.string().regex(/^[a-z0-9]{10}$/, "class id must be 10 lowercase letters or digits");

export type CheckResultView = {
  id: string;
  ok: boolean;
  message: string;
  hints?: string[];
  transcript?: string;
  durationMs?: number;
};
export type StepStatus = "pass" | "fail" | "pending";
export type StepResultView = {
  id: string;
  labId: string;
  title: string;
  status: StepStatus;
  checks: CheckResultView[];
  /** Steps fast-forwarded by a solve script instead of the learner. */
  solved?: boolean;
  passedAt?: number | null;
  firstSeenAt?: number | null;
  sameFailures?: number;
};
export type Lang = "de" | "en";
export const langSchema = z.enum(["de", "en"]);
