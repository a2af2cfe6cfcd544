// docs/lab-cases.md is rendered from the case list that server/labs/lab-cases.test.ts runs on real
// machines: the doc and the tests cannot drift apart. And the list itself names real steps and checks.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { LAB_CASES } from "./__fixtures__/lab-cases";
import { LAB_CASES_DOC, renderLabCasesDoc } from "./__fixtures__/lab-cases-doc";
import { loadCourse } from "./load-course";

const course = loadCourse();
const steps = course.labs.flatMap((l) => l.steps);

describe("the lab cases", () => {
  it("docs/lab-cases.md is current (else: npx tsx server/labs/__fixtures__/lab-cases-doc.ts)", () => {
    expect(readFileSync(LAB_CASES_DOC, "utf8")).toBe(renderLabCasesDoc(course));
  });

  it("name real steps and checks, have unique ids, and assert something", () => {
    const ids = new Set<string>();
    for (const c of LAB_CASES) {
      expect(ids.has(c.id), `duplicate case id ${c.id}`).toBe(false);
      ids.add(c.id);
      expect(c.id).toMatch(/^[a-z0-9-]+$/);
      expect(steps.some((s) => s.id === c.at), `${c.id}: no step ${c.at}`).toBe(true);
      for (const phase of [c, ...(c.then ?? [])]) {
        expect(phase.expect.length, `${c.id}: expects nothing`).toBeGreaterThan(0);
        for (const e of phase.expect) {
          const step = steps.find((s) => s.id === e.step);
          expect(step, `${c.id}: no step ${e.step}`).toBeDefined();
          if (e.check) expect(step!.checks.some((k) => k.id === e.check), `${c.id}: no check ${e.step}/${e.check}`).toBe(true);
          // A failing verdict must say what the student reads; a pass needs no words.
          if (e.verdict === "fail") expect((e.hints?.length ?? 0) + (e.message?.length ?? 0), `${c.id}: a failure without key words`).toBeGreaterThan(0);
        }
      }
    }
  });

  it("keep machines as they are only at the end of a group (the next case would start elsewhere)", () => {
    for (const c of LAB_CASES.filter((x) => x.keep)) {
      const group = LAB_CASES.filter((x) => x.at === c.at && (x.state ?? "before") === (c.state ?? "before"));
      expect(group.at(-1)?.id, `${c.id} keeps its state but is not the last case of ${c.at}`).toBe(c.id);
    }
  });
});
