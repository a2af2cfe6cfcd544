// docs/lab-cases.md from the case list (./lab-cases.ts): the instructors' answer to "what happens
// if a student …". Write it with `npx tsx server/labs/__fixtures__/lab-cases-doc.ts`;
// server/labs/lab-cases-doc.test.ts fails when the file differs from what this renders.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Course } from "@/lib/lab-schema";
import { loadCourse } from "../load-course";
import { LAB_CASES, type Expectation, type LabCase, type Phase, type Word } from "./lab-cases";

export const LAB_CASES_DOC = fileURLToPath(new URL("../../../docs/lab-cases.md", import.meta.url));

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");
/** Prose for a table cell: also < and > (RCPT TO:<…> is no HTML tag). */
const prose = (text: string) => cell(text).replace(/</g, "&lt;").replace(/>/g, "&gt;");
const code = (text: string) => (text.includes("`") ? `\`\` ${text} \`\`` : `\`${text}\``);

function words(list: Word[]): string {
  return list.map((w) => (typeof w === "string" ? code(w) : `${code(w.en)} (de: ${code(w.de)})`)).join(", ");
}

function seen(e: Expectation, course: Course): string {
  const step = course.labs.flatMap((l) => l.steps).find((s) => s.id === e.step)!;
  const what = e.check ? `${step.id} › ${e.check}` : `step ${step.id}`;
  const parts = [`${e.verdict === "pass" ? "✓ passes" : "✗ fails"}: **${what}**`];
  if (e.message?.length) parts.push(`message ${words(e.message)}`);
  if (e.hints?.length) parts.push(`hints ${words(e.hints)}`);
  if (e.notHints?.length) parts.push(`never ${words(e.notHints)}`);
  return parts.join("; ");
}

/** What the student's commands print in the terminal, where a case asserts it (named by the action's last command). */
function terminal(phase: Phase): string[] {
  return phase.do
    .filter((a) => a.says?.length || (a.exit ?? 0) !== 0)
    .map((a) => {
      const command = a.run.split(/&&|;/).at(-1)!.trim();
      const status = (a.exit ?? 0) !== 0 ? `exit status ${a.exit}` : "";
      return a.says?.length ? `${code(command)} prints ${words(a.says)}${status ? ` (${status})` : ""}` : `${code(command)} ends with ${status}`;
    });
}

function row(id: string, phase: Phase, course: Course): string {
  const sees = [...terminal(phase), ...phase.expect.map((e) => seen(e, course))];
  if (phase.also) sees.push(`and ${phase.also.shows}`);
  return `| ${id} | ${prose(phase.student)} | ${cell(sees.join("<br>"))} |`;
}

function caseRows(c: LabCase, course: Course): string[] {
  const mark = c.origin === "issue" ? " ⚑" : "";
  return [row(`\`${c.id}\`${mark}`, c, course), ...(c.then ?? []).map((p) => row("↳", p, course))];
}

/** The whole of docs/lab-cases.md. */
export function renderLabCasesDoc(course: Course = loadCourse()): string {
  const out: string[] = [
    "# What happens if a student … (lab cases)",
    "",
    "<!-- Generated from server/labs/__fixtures__/lab-cases.ts by `npx tsx server/labs/__fixtures__/lab-cases-doc.ts`.",
    "     Do not edit by hand: server/labs/lab-cases-doc.test.ts fails when this file is not current. -->",
    "",
    "Every wrong or alternative configuration and every student action the labs' checks are tested",
    "against, with what the student then sees. CI runs every row on real machines",
    "(`server/labs/lab-cases.test.ts`): it sets the configuration or does the action, runs the checks",
    "as the app does after a command, and asserts the verdict and the key words of the message and the",
    "hints, in German and English (German key words in brackets where they differ). A case starts with",
    "every earlier step solved (\"after\": its own step as well); the machines are reset after it.",
    "`{{domain}}`, `{{user1}}`, `{{mailIp}}`, … are each environment's own values. ⚑ marks the",
    "misjudgements reported from the lecture's test run; the others are variations found since.",
    "",
    "A hint that quotes `/var/log/mail.log` reads only what happened since the last relevant change",
    "(`telnet-old-reject-not-repeated`), and the checks' own traffic is never taken for the student's",
    "(`maillab-check` lines; the last test of the file). Where a row says what a command prints, the",
    "test ran it as the student would and checked its output and exit status: the machines'",
    "`systemctl` fails as on a Debian server (`md-missing-equals-systemctl`).",
    "",
  ];
  for (const lab of course.labs) {
    for (const [n, step] of lab.steps.entries()) {
      const here = LAB_CASES.filter((c) => c.at === step.id);
      if (here.length === 0) continue;
      out.push(`## ${lab.title.en.replace(/:.*/, "")}, step ${n + 1}: ${step.title.en}`, "");
      out.push("| Case | If a student … | they see |", "|---|---|---|");
      for (const state of ["before", "after"] as const) {
        const group = here.filter((c) => (c.state ?? "before") === state);
        if (state === "after" && group.length) out.push(`| | *with the step solved:* | |`);
        for (const c of group) out.push(...caseRows(c, course));
      }
      out.push("");
    }
  }
  return out.join("\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  writeFileSync(LAB_CASES_DOC, renderLabCasesDoc());
  console.log(`wrote ${path.relative(process.cwd(), LAB_CASES_DOC)} (${LAB_CASES.length} cases)`);
}
