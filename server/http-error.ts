import { z, type ZodError, type ZodType } from "zod";
import { inputMessages, type InputMessageKey } from "@/lib/api-schema";
import type { Lang } from "@/lib/api-types";

/**
 * Branded with a global symbol, because Next.js bundles route handlers separately from
 * server/main.ts: an ApiError thrown by the services is an instance of *another copy* of this
 * class there, so `instanceof` fails. `isApiError` checks the brand instead.
 */
const BRAND = Symbol.for("maillab.ApiError");

/** A message for users, in both of the product's languages (German addresses them with "Sie"). */
export interface Localized {
  de: string;
  en: string;
}

/** The machine-readable `code` when a thrower names none: one per status (docs/api.md). */
const DEFAULT_CODES: Record<number, string> = {
  400: "bad-request",
  401: "unauthorized",
  403: "forbidden",
  404: "not-found",
  409: "conflict",
  410: "gone",
  413: "body-too-large",
  415: "unsupported-media-type",
  429: "rate-limited",
  500: "internal",
  503: "unavailable",
};

/** Keys of `extra` that describe the error itself and are not copied into the JSON body as details. */
type ErrorExtra = Record<string, unknown> & { code?: string; message_de?: string };

/**
 * An error the API reports to its caller: a status, a stable `code` for programs and a message
 * in the caller's language. `message` may be a plain string (older callers: used for German and
 * English alike; a `message_de` in `extra` supplies the German one) or `{ de, en }`.
 * `Error.message` is the English text, for logs.
 */
export class ApiError extends Error {
  readonly [BRAND] = true;
  readonly code: string;
  readonly localized: Localized;
  /** Details for the JSON body besides `error` and `code` (e.g. `retryAfterS`). */
  readonly extra: Record<string, unknown> | undefined;

  constructor(
    readonly status: number,
    message: string | Localized,
    extra?: ErrorExtra,
  ) {
    const { code, message_de: messageDe, ...rest } = extra ?? {};
    const localized = typeof message === "string" ? { de: typeof messageDe === "string" ? messageDe : message, en: message } : message;
    super(localized.en);
    this.localized = localized;
    this.code = typeof code === "string" && code ? code : (DEFAULT_CODES[status] ?? `http-${status}`);
    this.extra = Object.keys(rest).length ? rest : undefined;
  }
}

export function isApiError(error: unknown): error is ApiError {
  return typeof error === "object" && error !== null && (error as Record<symbol, unknown>)[BRAND] === true;
}

/** The JSON body of an error answer: `{ error, code, ...details }` in the caller's language. */
export function errorBody(error: ApiError, lang: Lang): Record<string, unknown> {
  // Read fields defensively: the error may come from another bundle's copy of this class.
  const localized = error.localized ?? { de: error.message, en: error.message };
  return { error: localized[lang] ?? localized.en, code: error.code ?? DEFAULT_CODES[error.status] ?? "error", ...error.extra };
}

const LOCALES = { de: z.locales.de().localeError, en: z.locales.en().localeError };

function isInputMessageKey(message: string): message is InputMessageKey {
  return Object.hasOwn(inputMessages, message);
}

/** One language's message for a failed parse: every issue, each prefixed with its field's path. */
export function zodMessage(error: ZodError, lang: Lang = "en"): string {
  return error.issues
    .map((i) => {
      const text = isInputMessageKey(i.message) ? inputMessages[i.message][lang] : i.message;
      return i.path.length ? `${i.path.join(".")}: ${text}` : text;
    })
    .join("; ");
}

/** Parses untrusted input or throws a 400 that names the offending field, in both languages. */
export function parseOr400<T>(schema: ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input, { error: LOCALES.en });
  if (result.success) return result.data;
  // Zod's own messages come from its locales; the schemas' own ones are keys of inputMessages.
  const de = schema.safeParse(input, { error: LOCALES.de });
  const message = { de: de.success ? zodMessage(result.error, "de") : zodMessage(de.error, "de"), en: zodMessage(result.error, "en") };
  throw new ApiError(400, message, { code: "invalid-input" });
}
