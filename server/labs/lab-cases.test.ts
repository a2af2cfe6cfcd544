// Every row of docs/lab-cases.md on real machines (real Docker engine, lab images, Postfix, Dovecot,
// SMTP/IMAP/POP3 from partner): the case list of ./__fixtures__/lab-cases.ts, in course order. Each
// lab's cases run on an environment of their own (Lab 12.2's starts with Lab 12.1 solved), the two
// side by side: most of a case's time is waiting (a restart, a typed dialogue), not CPU.
//
// Before each step's cases the machines' state is saved; each case sets its configuration or does
// the student's action, the app's view of what changed is updated as after a command (hints that
// quote mail.log read only what is new), the checks run, and the verdict and the key words of
// message and hints are asserted in German and English. Then the state is restored (cheaply: files
// back, mail.log emptied, Postfix restarted, Dovecot only when its files changed) and the step is
// solved by its solve scripts. Last, the checks' own traffic is shown not to count.
import { afterAll, beforeAll, describe, it, type ExpectStatic } from "vitest";
import { renderTemplate, type CheckResult, type Lab, type Step, type StepResult } from "@/lib/lab-schema";
import { LAB_CASES, type Expectation, type LabCase, type Phase, type Word } from "./__fixtures__/lab-cases";
// (the sample environment's names, in test titles only: each environment has its own)
import { SAMPLE_PARAMS } from "./__fixtures__/params";
import { loadCourse } from "./load-course";
import { checkStep, describeResult, labOf, solve, solveLabSteps, startLabEnvironment, type LabEnvironment } from "./testing";

const course = loadCourse();
const steps = course.labs.flatMap((l) => l.steps);
const stepById = (id: string): Step => steps.find((s) => s.id === id)!;

const SNAPSHOT = "/root/.maillab-case-snapshot";

/** Saves what the cases change on mail: Postfix's and Dovecot's files, mailboxes, Dovecot running or not. */
async function snapshot(env: LabEnvironment): Promise<void> {
  await env.sh(
    "mail",
    `set -e; rm -rf ${SNAPSHOT}; mkdir -p ${SNAPSHOT}
     paths="etc/postfix var/mail home"; [ -d /etc/dovecot ] && paths="$paths etc/dovecot"
     tar -C / -cpf ${SNAPSHOT}/state.tar $paths
     if [ -e /run/dovecot/master.pid ]; then touch ${SNAPSHOT}/dovecot-running; fi
     find /var/spool/postfix -maxdepth 2 -type s >${SNAPSHOT}/sockets; echo /none >>${SNAPSHOT}/sockets`,
  );
}

/**
 * Back to the snapshot. Postfix is restarted the fast way maillab-init starts it (master -w: no
 * throttling, no stale smtpd); Dovecot only when its files differ, it is not running as it was, or
 * a socket of the case (a listener's) had to go.
 */
async function restore(env: LabEnvironment): Promise<void> {
  await env.sh(
    "mail",
    `d=${SNAPSHOT}
     dovecot_changed=no
     if [ -e $d/dovecot-running ]; then
       { tar -C / -df $d/state.tar etc/dovecot >/dev/null 2>&1 && [ -e /run/dovecot/master.pid ]; } || dovecot_changed=yes
     fi
     rm -rf /etc/postfix /var/mail/* /home/*
     tar -tf $d/state.tar etc/dovecot >/dev/null 2>&1 && rm -rf /etc/dovecot
     tar -C / -xpf $d/state.tar
     postsuper -d ALL >/dev/null 2>&1 || true
     systemctl is-active --quiet rsyslog || systemctl start rsyslog
     rm -f /var/log/mail.log.*; : >/var/log/mail.log; rm -rf /run/maillab/units
     pid=$(cat /var/spool/postfix/pid/master.pid 2>/dev/null)
     if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
       kill -TERM "$pid"; for i in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
     fi
     rm -f /var/spool/postfix/pid/master.pid
     for f in $(find /var/spool/postfix -maxdepth 2 -type s | grep -vxF -f $d/sockets); do
       rm -f "$f"; [ -e $d/dovecot-running ] && dovecot_changed=yes
     done
     /usr/lib/postfix/sbin/master -w
     if [ $dovecot_changed = yes ]; then systemctl restart dovecot; fi
     if [ -e $d/dovecot-running ]; then
       for i in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/143) 2>/dev/null && break; sleep 0.05; done
     fi
     exec 3<>/dev/tcp/127.0.0.1/25`,
    120_000,
  );
}

/** Where the time goes (reported at the end): the students' actions, the checks, the restores. */
const spent = { act: 0, checks: 0, restore: 0, cases: 0 };
const slowest: Array<[string, number]> = [];
async function timed<T>(what: keyof typeof spent, work: () => Promise<T>): Promise<T> {
  const t = performance.now();
  try {
    return await work();
  } finally {
    spent[what] += performance.now() - t;
  }
}
afterAll(() => {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const top = slowest.sort((a, b) => b[1] - a[1]).slice(0, 8).map(([id, ms]) => `${id} ${s(ms)}`);
  console.log(`[lab cases] ${spent.cases} cases: actions ${s(spent.act)}, checks ${s(spent.checks)}, restores ${s(spent.restore)} (two labs side by side); slowest: ${top.join(", ")}`);
});

/** A case's checks and assertions on one environment, with the test's own expect (concurrent tests). */
class CaseRun {
  constructor(
    readonly env: LabEnvironment,
    readonly expect: ExpectStatic,
  ) {}

  both(w: Word): { de: string; en: string } {
    const t = typeof w === "string" ? { de: w, en: w } : w;
    return { de: renderTemplate(t.de, this.env.params).toLowerCase(), en: renderTemplate(t.en, this.env.params).toLowerCase() };
  }

  expectation(result: StepResult, e: Expectation): void {
    const { expect } = this;
    const report = `\n${describeResult(result)}`;
    let checks: CheckResult[];
    if (e.check) {
      const c = result.checks.find((x) => x.id === e.check);
      if (!c) throw new Error(`no check ${e.check} in step ${e.step}`);
      expect(c.ok ? "pass" : "fail", `${e.step} › ${e.check}${report}`).toBe(e.verdict);
      checks = [c];
    } else {
      expect(result.status, `step ${e.step}${report}`).toBe(e.verdict);
      // A failing step: what its failing checks say; a passing one: what all of them say.
      checks = e.verdict === "fail" ? result.checks.filter((c) => !c.ok) : result.checks;
    }
    for (const lang of ["de", "en"] as const) {
      const message = checks.map((c) => c.message[lang]).join("\n").toLowerCase();
      const hints = checks.flatMap((c) => c.hints?.[lang] ?? []).join("\n").toLowerCase();
      for (const w of e.message ?? []) expect(message, `${e.step} message (${lang}) lacks "${this.both(w)[lang]}"${report}`).toContain(this.both(w)[lang]);
      for (const w of e.hints ?? []) expect(hints, `${e.step} hints (${lang}) lack "${this.both(w)[lang]}"${report}`).toContain(this.both(w)[lang]);
      for (const w of e.notHints ?? []) expect(hints, `${e.step} hints (${lang}) must not say "${this.both(w)[lang]}"${report}`).not.toContain(this.both(w)[lang]);
    }
  }

  async phase(phase: Phase): Promise<void> {
    const { env } = this;
    for (const action of phase.do) {
      await timed("act", async () => {
        const script = renderTemplate(action.run, env.params);
        const r = await env.shell(action.on, script, 300_000);
        // What the student sees in the terminal: the exit status and the words of the output.
        this.expect(r.exitCode, `${action.on}: \`${script}\` exited ${r.exitCode}:\n${r.output}`).toBe(action.exit ?? 0);
        for (const w of action.says ?? []) this.expect(r.output, `${action.on}: \`${script}\` does not say "${w}"`).toContain(renderTemplate(w, env.params));
        await env.observe();
      });
    }
    const results = new Map<string, StepResult>();
    for (const e of phase.expect) {
      if (!results.has(e.step)) results.set(e.step, await timed("checks", () => checkStep(env, stepById(e.step))));
      this.expectation(results.get(e.step)!, e);
    }
    if (phase.also) await env.sh("mail", phase.also.run);
  }
}

function declareCases(env: () => LabEnvironment, group: LabCase[]): void {
  if (group.length === 0) return;
  it.sequential(`(saves the machines' state before ${group.map((c) => c.id).join(", ")})`, () => snapshot(env()));
  for (const c of group) {
    it.sequential(`${c.id}: a student who ${renderTemplate(c.student, SAMPLE_PARAMS)}`, async ({ expect }) => {
      const run = new CaseRun(env(), expect);
      await run.env.observe();
      spent.cases++;
      const started = performance.now();
      try {
        for (const phase of [c, ...(c.then ?? [])]) await run.phase(phase);
      } finally {
        if (!c.keep) {
          await timed("restore", async () => {
            await restore(run.env);
            await run.env.observe();
          });
        }
        slowest.push([c.id, performance.now() - started]);
      }
    }, 600_000);
  }
}

/** The checks' own traffic, run over and over, never counts as the learner's action. */
async function checksStayQuiet(env: LabEnvironment, expect: ExpectStatic): Promise<void> {
  // An empty mail.log: the learner's evidence of the earlier steps is gone, so only the checks
  // could bring it back. (The mail of Lab 12.1 step 4 is still in the mailbox.)
  await env.sh("mail", ": >/var/log/mail.log");
  await env.observe();
  for (let round = 0; round < 3; round++) for (const s of steps) await checkStep(env, s);
  for (const s of steps.filter((x) => x.kind === "action")) {
    const r = await checkStep(env, s);
    for (const c of r.checks) {
      const def = s.checks.find((d) => d.id === c.id)!;
      if (def.guard) continue;
      if (s.id === "telnet-mail") expect(c.message.en, `only the mailbox can show ${s.id}:\n${describeResult(r)}`).toMatch(/in the mailbox/);
      else expect(c.ok, `${s.id}/${c.id} counted the checks' own traffic:\n${describeResult(r)}`).toBe(false);
    }
  }
  for (const s of steps.filter((x) => x.kind === "config")) {
    const r = await checkStep(env, s);
    expect(r.status, describeResult(r)).toBe("pass");
  }
  // Nothing of the checks landed in a mailbox or the queue, and no log line of theirs names partner.
  const [u1, u2] = env.params.users;
  expect((await env.sh("mail", `cat /var/mail/${u1!.name} /var/mail/${u2!.name} 2>/dev/null | grep -c maillab-check || true`)).trim()).toBe("0");
  expect((await env.sh("mail", "postqueue -j | wc -l")).trim()).toBe("0");
  expect((await env.sh("mail", `grep -c 'partner\\[${env.params.partnerIp}\\]' /var/log/mail.log || true`)).trim()).toBe("0");
}

/** One lab's cases in order on an environment of their own, which starts with the earlier labs solved. */
function labCases(lab: Lab): void {
  // A suite inside describe.concurrent runs beside its siblings; its own tests, declared
  // it.sequential, run one after another.
  describe(lab.title.en, () => {
    let env: LabEnvironment | undefined;
    const current = () => env!;
    beforeAll(async () => {
      env = await startLabEnvironment(course);
      for (const required of lab.requires) await solveLabSteps(env, labOf(course, required));
      await env.observe();
    }, 900_000);
    afterAll(async () => {
      await env?.destroy();
    });
    for (const step of lab.steps) {
      declareCases(current, LAB_CASES.filter((c) => c.at === step.id && (c.state ?? "before") === "before"));
      if (step.id === "smtptest-mail") {
        it.sequential("running every check of the course several times never counts as the learner's own action", ({ expect }) => checksStayQuiet(current(), expect), 300_000);
      }
      it.sequential(`(solves step ${step.id})`, async () => {
        await solve(current(), step);
        await current().observe();
      }, 600_000);
      declareCases(current, LAB_CASES.filter((c) => c.at === step.id && c.state === "after"));
    }
  });
}

describe.concurrent("what happens if a student … (docs/lab-cases.md)", () => {
  for (const lab of course.labs) labCases(lab);
});
