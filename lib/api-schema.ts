import { z } from "zod";
import { LANGS } from "./api-types";
import { environmentIdSchema } from "./machines";

/**
 * The schemas' own messages, in both languages: a schema names a key, and server/http-error.ts's
 * parseOr400 answers in the caller's language (Zod's built-in messages come from its locales).
 * The field's path is put in front of each ("name: at most 40 characters").
 */
export const inputMessages = {
  labId: { de: "Lab-ID aus Kleinbuchstaben, Ziffern, „.“ oder „-“", en: "a lab id of lowercase letters, digits, '.' or '-'" },
  stepId: { de: "Schritt-ID aus Kleinbuchstaben, Ziffern, „.“ oder „-“", en: "a step id of lowercase letters, digits, '.' or '-'" },
  titleEmpty: { de: "Bitte geben Sie einen Titel ein.", en: "must not be empty" },
  titleLong: { de: "höchstens 120 Zeichen", en: "at most 120 characters" },
  labsEmpty: { de: "Bitte wählen Sie mindestens ein Lab.", en: "choose at least one lab" },
  code: { de: "Der Kurscode besteht aus 6 Buchstaben oder Ziffern.", en: "6 letters or digits" },
  nameEmpty: { de: "Bitte geben Sie Ihren Namen ein.", en: "must not be empty" },
  nameLong: { de: "höchstens 40 Zeichen", en: "at most 40 characters" },
  invisibleChars: {
    de: "Steuerzeichen, Zeilenumbrüche, Tabulatoren und unsichtbare Zeichen zur Textrichtung sind nicht erlaubt.",
    en: "control characters, line breaks, tabs and invisible text-direction marks are not allowed",
  },
} as const satisfies Record<string, { de: string; en: string }>;
export type InputMessageKey = keyof typeof inputMessages;

/** Bodies of the automation API (docs/api.md), parsed where they enter with zod. */
const labId = z.string().regex(/^[a-z0-9][a-z0-9.-]{0,40}$/, "labId" satisfies InputMessageKey);
const stepId = z.string().regex(/^[a-z0-9][a-z0-9.-]{0,60}$/, "stepId" satisfies InputMessageKey);

/**
 * Characters a display name (shown on the dashboard, in the CSV export, to other learners) must
 * not contain: controls (Cc: NUL, ESC, CR, LF, TAB, DEL, C1), format characters (Cf: bidi
 * overrides and isolates that reorder the rest of a row, zero-width spaces, BOM, tag
 * characters), line/paragraph separators and lone surrogates (not encodable as UTF-8).
 * ZWNJ and ZWJ are format characters that scripts (Persian) and emoji sequences need: allowed.
 */
const INVISIBLE = /(?![\u200C\u200D])[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;

/** A display text: NFC-normalised, trimmed, no invisible characters, within `max` characters. */
function displayText(max: number, keys: { empty: InputMessageKey; long: InputMessageKey }) {
  return z
    .string()
    .refine((s) => !INVISIBLE.test(s), "invisibleChars" satisfies InputMessageKey)
    .transform((s) => s.normalize("NFC").trim())
    .pipe(z.string().min(1, keys.empty).max(max, keys.long));
}

export const createEnvironmentBody = z.strictObject({ lab: labId });
export const solveBody = z.strictObject({ upTo: stepId });
export const createClassBody = z.strictObject({
  title: displayText(120, { empty: "titleEmpty", long: "titleLong" }),
  labs: z.array(labId).min(1, "labsEmpty" satisfies InputMessageKey).max(20),
});
/** Join codes are 6 letters/digits; learners may type them lower-case or with a dash/space. */
export const joinCodeSchema = z
  .string()
  .transform((s) => s.replace(/[\s-]/g, "").toUpperCase())
  .pipe(z.string().regex(/^[A-Z0-9]{6}$/, "code" satisfies InputMessageKey));
const learnerName = displayText(40, { empty: "nameEmpty", long: "nameLong" });
export const joinBody = z.strictObject({
  code: joinCodeSchema,
  name: learnerName,
});
export const loginBody = z.strictObject({ password: z.string().min(1).max(200) });
export const startSelfPacedBody = z.strictObject({
  /** Optional: an empty or blank name means "no name" (the learner is listed as self-paced). */
  name: z.preprocess((v) => (typeof v === "string" && !v.trim() ? undefined : v), learnerName.optional()),
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

/** `?lang=` and the language cookie: the contract's `Lang` (lib/api-types.ts). */
export const langSchema = z.enum(LANGS);
