import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ApiError, errorBody, isApiError, parseOr400 } from "./http-error";

describe("ApiError", () => {
  it("takes { de, en } and answers in either language with a stable code", () => {
    const e = new ApiError(404, { de: "Diesen Kurs gibt es nicht.", en: "no such class" }, { code: "no-class" });
    expect(e.message).toBe("no such class");
    expect(errorBody(e, "de")).toEqual({ error: "Diesen Kurs gibt es nicht.", code: "no-class" });
    expect(errorBody(e, "en")).toEqual({ error: "no such class", code: "no-class" });
  });

  it("still takes a plain string (older callers): the same text in both languages, a code from the status", () => {
    const e = new ApiError(503, "the lab images are still being built");
    expect(errorBody(e, "de")).toEqual({ error: "the lab images are still being built", code: "unavailable" });
    expect(errorBody(e, "en")).toEqual({ error: "the lab images are still being built", code: "unavailable" });
  });

  it("reads a German message_de from extra and keeps other details in the body", () => {
    const e = new ApiError(429, "slow down", { code: "too-many", message_de: "Langsamer, bitte.", retryAfterS: 7 });
    expect(errorBody(e, "de")).toEqual({ error: "Langsamer, bitte.", code: "too-many", retryAfterS: 7 });
    expect(e.extra).toEqual({ retryAfterS: 7 });
  });

  it("is recognised by its brand across copies of the class (Next bundles it separately)", () => {
    const foreign = { [Symbol.for("maillab.ApiError")]: true, status: 400, message: "x" };
    expect(isApiError(foreign)).toBe(true);
    expect(errorBody(foreign as unknown as ApiError, "de")).toEqual({ error: "x", code: "bad-request" });
  });
});

describe("parseOr400", () => {
  it("names each field in both languages, Zod's messages from its locales", () => {
    const schema = z.strictObject({ n: z.number().max(3), s: z.string() });
    try {
      parseOr400(schema, { n: 5, s: 1, extra: true });
      expect.unreachable();
    } catch (error) {
      expect(isApiError(error)).toBe(true);
      const e = error as ApiError;
      expect(e.status).toBe(400);
      expect(e.code).toBe("invalid-input");
      expect(e.localized.en).toMatch(/^n: Too big.*; s: Invalid input: expected string.*; Unrecognized key: "extra"$/);
      expect(e.localized.de).toMatch(/^n: Zu groß.*; s: Ungültige Eingabe: erwartet string.*; Unbekannter Schlüssel: "extra"$/);
    }
  });
});
