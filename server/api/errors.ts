// The route layer's errors, in both languages (the route layer answers in the caller's).
// `code` is the stable, machine-readable part (docs/api.md); messages may change.
import { ApiError } from "../http-error";

const tooMany = (code: string, waitS: number, de: string, en: string) =>
  new ApiError(429, { de: `${de} Bitte versuchen Sie es in ${waitS} s erneut.`, en: `${en}; try again in ${waitS} s` }, { code, retryAfterS: waitS });

export const apiErrors = {
  bodyTooLarge: (maxBytes: number) =>
    new ApiError(413, { de: `Die Anfrage ist zu groß (höchstens ${maxBytes} Bytes).`, en: `body too large (max ${maxBytes} bytes)` }, { code: "body-too-large", maxBytes }),
  notJson: () => new ApiError(400, { de: "Der Inhalt der Anfrage ist kein gültiges JSON.", en: "body is not valid JSON" }, { code: "invalid-json" }),
  notUtf8: () => new ApiError(400, { de: "Der Inhalt der Anfrage ist kein gültiges UTF-8.", en: "body is not valid UTF-8" }, { code: "invalid-json" }),
  unsupportedMediaType: () =>
    new ApiError(415, { de: "Bitte senden Sie JSON (Content-Type: application/json).", en: "send JSON (Content-Type: application/json)" }, { code: "unsupported-media-type" }),
  crossOrigin: () =>
    new ApiError(403, { de: "Anfragen von anderen Websites sind nicht erlaubt.", en: "requests from other origins are refused" }, { code: "cross-origin" }),
  instructorRequired: () =>
    new ApiError(401, { de: "Bitte melden Sie sich als Lehrkraft an.", en: "instructor sign-in required (cookie or Authorization: Bearer)" }, { code: "instructor-sign-in" }),
  instructorOnly: () => new ApiError(403, { de: "Das darf nur die Lehrkraft.", en: "only the instructor may do this" }, { code: "instructor-only" }),
  badBearer: () =>
    new ApiError(401, { de: "Das Passwort in „Authorization: Bearer“ ist falsch.", en: "wrong password in Authorization: Bearer" }, { code: "wrong-password" }),
  wrongPassword: () => new ApiError(401, { de: "Das Passwort ist falsch.", en: "wrong password" }, { code: "wrong-password" }),
  tooManySignIns: (waitS: number) => tooMany("too-many-sign-ins", waitS, "Zu viele falsche Passwörter.", "too many wrong passwords"),
  tooManyJoins: (waitS: number) => tooMany("too-many-joins", waitS, "Zu viele Beitrittsversuche.", "too many join attempts"),
  noClass: () => new ApiError(404, { de: "Diesen Kurs gibt es nicht.", en: "no such class" }, { code: "no-class" }),
  joinFirst: () => new ApiError(401, { de: "Bitte treten Sie zuerst dem Kurs bei.", en: "join the class first" }, { code: "join-first" }),
  notYourClass: () => new ApiError(403, { de: "Das ist nicht Ihr Kurs.", en: "not your class" }, { code: "not-your-class" }),
  noEnvironment: () => new ApiError(404, { de: "Diese Lab-Umgebung gibt es nicht (mehr).", en: "no such environment" }, { code: "no-environment" }),
  noRecording: () => new ApiError(404, { de: "Diese Aufzeichnung gibt es nicht.", en: "no such recording" }, { code: "no-recording" }),
  internal: () => new ApiError(500, { de: "Interner Fehler. Bitte versuchen Sie es noch einmal.", en: "internal error" }, { code: "internal" }),
};
