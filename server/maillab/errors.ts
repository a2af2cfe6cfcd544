// The product layer's errors, in both languages: the route layer answers in the caller's.
import { ApiError } from "../http-error";

export function apiError(status: number, code: string, de: string, en: string): ApiError {
  return new ApiError(status, en, { code, message_de: de });
}

export const errors = {
  signIn: () => apiError(401, "sign-in", "Bitte melden Sie sich an oder treten Sie zuerst einem Kurs bei.", "sign in or join a class first"),
  noEnvironment: () => apiError(404, "no-environment", "Diese Lab-Umgebung gibt es nicht (mehr).", "no such environment"),
  notYours: () => apiError(403, "not-yours", "Diese Lab-Umgebung gehört jemand anderem.", "this environment belongs to someone else"),
  machinesGone: () =>
    apiError(410, "machines-gone", "Die Maschinen dieser Umgebung sind weg. Setzen Sie sie zurück, um neue zu bekommen.", "the machines of this environment are gone; reset it to get fresh ones"),
  classEnded: () => apiError(410, "class-ended", "Dieser Kurs ist beendet.", "this class has ended"),
  unknownLab: (id: string, known: string[]) =>
    apiError(400, "unknown-lab", `Unbekanntes Lab „${id}“; vorhanden: ${known.join(", ")}`, `unknown lab "${id}"; known: ${known.join(", ")}`),
  unknownStep: (id: string) => apiError(400, "unknown-step", `Unbekannter Schritt „${id}“`, `unknown step "${id}"`),
  noClass: () => apiError(404, "no-class", "Diesen Kurs gibt es nicht.", "no such class"),
  unknownJoinCode: () =>
    apiError(404, "unknown-join-code", "Unbekannter Kurscode: Prüfen Sie den Code, den Ihre Lehrkraft zeigt.", "unknown join code: check the code your instructor shows"),
};
