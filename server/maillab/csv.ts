// A class's results as CSV that spreadsheet programs open correctly in German and English:
// UTF-8 with a byte order mark (else Excel reads "Müller" as Latin-1), the separator the
// language's spreadsheets expect (German Excel splits on ";", English on ","), no formula cells.
import type { ClassProgressView, Lang } from "@/lib/api-types";
import type { Course } from "@/lib/lab-schema";

const WORDS = {
  de: { learner: "Teilnehmer", passed: "selbst erledigt", solved: "übersprungen", total: "Schritte", done: "erledigt", skipped: "übersprungen", broken: "jetzt kaputt", open: "offen", pending: "nicht begonnen" },
  en: { learner: "Learner", passed: "done by learner", solved: "skipped", total: "steps", done: "done", skipped: "skipped", broken: "now broken", open: "open", pending: "not started" },
} as const;

export const CSV_SEPARATOR: Record<Lang, string> = { de: ";", en: "," };

/**
 * One cell. A value that starts like a formula (= + - @, or a tab/CR) is prefixed with ' so a
 * spreadsheet shows it as text; separators, quotes and line breaks are quoted.
 */
export function csvCell(value: string, separator: string): string {
  let v = value;
  if (/^[=+\-@\t\r]/.test(v)) v = `'${v}`;
  return v.includes(separator) || /["\r\n]/.test(v) || v !== value ? `"${v.replace(/"/g, '""')}"` : v;
}

function when(ms: number | null): string {
  return ms ? new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC") : "";
}

export function classCsv(course: Course, progress: ClassProgressView, lang: Lang): string {
  const w = WORDS[lang];
  const sep = CSV_SEPARATOR[lang];
  const labTitle = new Map(course.labs.map((l) => [l.id, l.title[lang].replace(/:.*$/, "")]));
  const header = [w.learner, ...progress.steps.map((s) => `${labTitle.get(s.labId) ?? s.labId} – ${s.title}`), w.passed, w.solved, w.total];
  const rows = progress.learners.map((l) => {
    const byKey = new Map(l.steps.map((s) => [`${s.labId}/${s.id}`, s]));
    const cells = progress.steps.map((s) => {
      const r = byKey.get(`${s.labId}/${s.id}`);
      if (!r || r.status === "pending") return w.pending;
      if (r.status !== "pass") return w.open;
      if (r.solved) return w.skipped;
      return `${w.done} ${when(r.passedAt)}${r.broken ? ` (${w.broken})` : ""}`;
    });
    const passed = l.steps.filter((s) => s.status === "pass" && !s.solved).length;
    const solved = l.steps.filter((s) => s.status === "pass" && s.solved).length;
    return [l.name, ...cells, String(passed), String(solved), String(progress.steps.length)];
  });
  return "\uFEFF" + [header, ...rows].map((r) => r.map((c) => csvCell(c, sep)).join(sep)).join("\r\n") + "\r\n";
}
