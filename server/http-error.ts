import type { ZodError, ZodType } from "zod";

/**
 * Branded with a global symbol, because Next.js bundles route handlers separately from
 * server/main.ts: an ApiError thrown by the services is an instance of *another copy* of this
 * class there, so `instanceof` fails. `isApiError` checks the brand instead.
 */
const BRAND = Symbol.for("maillab.ApiError");

/** An error the API reports as-is: status code + a message meant for the caller. */
export class ApiError extends Error {
  readonly [BRAND] = true;
  constructor(
    readonly status: number,
    message: string,
    readonly extra?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export function isApiError(error: unknown): error is ApiError {
  return typeof error === "object" && error !== null && (error as Record<symbol, unknown>)[BRAND] === true;
}

export function zodMessage(error: ZodError): string {
  return error.issues.map((i) => (i.path.length ? `${i.path.join(".")}: ${i.message}` : i.message)).join("; ");
}

/** Parses untrusted input or throws a 400 that names the offending field. */
export function parseOr400<T>(schema: ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (!result.success) throw new ApiError(400, zodMessage(result.error));
  return result.data;
}
