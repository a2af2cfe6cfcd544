/**
 * The learning loop benchmark (`npm run bench -- loop`; docs/learning-loop.md, docs/design.md §7:
 * a learner's command → the step's verdict p95 ≤ 1.0 s quiet, ≤ 2.0 s with 30 environments active).
 *
 * Real stack, from outside: the app started as the README starts it, environments made through the
 * API, the commands typed into real terminal WebSockets (the real TerminalConnection client), the
 * verdict read from the environment's event stream (what the lab page listens to). A learner works
 * through Lab 12.1 and 12.2 as the lecture says: between the commands that finish a step come
 * commands that only look (`postconf …`, `tail mail.log`).
 *
 * Figures:
 * - command → verdict: from the moment the command's output is complete in the terminal (the
 *   learner sees the prompt again) to the event that shows the step passed. Quiet: one learner.
 *   Busy: 30 learners at once, each typing its next command 7-13 s (10 s on average) after the
 *   previous one finished, all in the same lab at the same time (a class).
 * - engine round trips: `docker exec`s the app made during the run (Docker's own events, split into
 *   terminals, check channels and other one-shot execs), per learner command.
 * - check log lines per command: lines the checks caused in each mail.log (`maillab-check`).
 * The machine's load average during the busy run is reported too.
 */
import { spawn, execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import type { EnvironmentView, StepView } from "../lib/api-types";
import { startApp, type RunningApp } from "../e2e/support/app";
import { TestTerminal } from "../server/terminals/testing";

type Machine = "mail" | "partner";
interface Command {
  machine: Machine;
  /** Shell text; {{domain}} {{pw1}} {{pw2}} are filled in. */
  text: string;
  /** The step this command completes, if any. */
  completes?: string;
}

/** Both labs, typed as the lecture says (the solve scripts' learner-equivalent commands). */
const SCRIPT: Command[] = [
  { machine: "mail", text: "postconf inet_interfaces inet_protocols" },
  { machine: "mail", text: "postconf -e inet_interfaces=all && systemctl restart postfix", completes: "inet-interfaces" },
  { machine: "mail", text: "postconf mydestination" },
  { machine: "mail", text: `postconf -e 'mydestination = $myhostname, localhost.localdomain, localhost, {{domain}}' && postfix reload`, completes: "mydestination" },
  { machine: "partner", text: `{ sleep 0.3; printf 'EHLO partner\\r\\nMAIL FROM:<test@partner>\\r\\nRCPT TO:<jemand@anderswo.example>\\r\\nQUIT\\r\\n'; sleep 0.5; } | nc -w 5 mail 25`, completes: "no-open-relay" },
  { machine: "partner", text: `{ sleep 0.3; printf 'HELO partner\\r\\nMAIL FROM:<bob@{{domain}}>\\r\\nRCPT TO:<alice@{{domain}}>\\r\\nDATA\\r\\n'; sleep 0.3; printf 'Subject: Hallo\\r\\n\\r\\nText\\r\\n.\\r\\nQUIT\\r\\n'; sleep 0.5; } | nc -w 5 mail 25`, completes: "telnet-mail" },
  { machine: "mail", text: "tail -n 5 /var/log/mail.log" },
  { machine: "mail", text: "apt-get install -y -q dovecot-imapd dovecot-pop3d >/dev/null 2>&1", completes: "install-dovecot" },
  { machine: "partner", text: `printf 'a SELECT INBOX\\r\\nb FETCH 1 BODY[]\\r\\nc LOGOUT\\r\\n' | imtest -t "" -a alice -w {{pw1}} -m plain mail >/dev/null 2>&1` },
  { machine: "partner", text: `printf 'LIST\\r\\nRETR 1\\r\\nQUIT\\r\\n' | pop3test -t "" -a alice -w {{pw1}} mail >/dev/null 2>&1`, completes: "imap-pop3-login" },
  { machine: "mail", text: "postconf -n | grep sasl" },
  {
    machine: "mail",
    text:
      `postconf -e 'smtpd_tls_auth_only = yes' 'smtpd_sasl_auth_enable = yes' 'smtpd_sasl_type = dovecot' 'smtpd_sasl_path = private/auth' 'smtpd_sasl_security_options = noanonymous' 'smtpd_sasl_authenticated_header = yes' 'smtpd_recipient_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination' && ` +
      `perl -0pi -e 's|#unix_listener /var/spool/postfix/private/auth \\{\\n\\s*#\\s*mode = 0666\\n\\s*#\\}|unix_listener /var/spool/postfix/private/auth {\\n    mode = 0600\\n    user = postfix\\n    group = postfix\\n  }|' /etc/dovecot/conf.d/10-master.conf && systemctl restart dovecot && postfix reload`,
    completes: "smtp-auth",
  },
  { machine: "partner", text: `{ sleep 1.5; printf 'MAIL FROM:<alice@{{domain}}>\\r\\nRCPT TO:<bob@{{domain}}>\\r\\nDATA\\r\\n'; sleep 0.3; printf 'Subject: Gruss\\r\\n\\r\\nHallo\\r\\n.\\r\\nQUIT\\r\\n'; sleep 1; } | smtptest -t "" -a alice -u alice -w {{pw1}} mail >/dev/null 2>&1`, completes: "smtptest-mail" },
  { machine: "mail", text: "su - alice -c 'printf \"p 1\\nq\\n\" | mail' >/dev/null" },
];

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]! : NaN;
};

interface Learner {
  env: EnvironmentView;
  /** The learner's own cookie, as the browser would send it. */
  cookie: string;
  terminals: Record<Machine, TestTerminal>;
  /** When each step was first seen passed in the event stream. */
  passedAt: Map<string, number>;
  latest: StepView[];
  stop: () => void;
  commands: number;
}

/** The environment's event stream, as the lab page reads it. */
function watch(app: RunningApp, id: string, cookie: string, onView: (v: EnvironmentView) => void): () => void {
  const ctrl = new AbortController();
  void (async () => {
    const res = await fetch(`${app.url}/api/environments/${id}/events`, { headers: { cookie }, signal: ctrl.signal });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += decoder.decode(value, { stream: true });
      let i: number;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        const frame = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (!frame.startsWith("event: environment")) continue;
        onView(JSON.parse(frame.slice(frame.indexOf("data: ") + 6)) as EnvironmentView);
      }
    }
  })().catch(() => undefined);
  return () => ctrl.abort();
}

/** A self-paced learner, as the home page's "start" makes one: a cookie and an environment. */
async function startLearner(app: RunningApp): Promise<Learner> {
  const res = await fetch(`${app.url}/api/session`, { method: "POST", headers: { "content-type": "application/json", origin: app.url }, body: JSON.stringify({ lab: "12-1" }) });
  if (!res.ok) throw new Error(`POST /api/session: ${res.status} ${await res.text()}`);
  const cookie = res.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
  const env = (await res.json()) as EnvironmentView;
  const passedAt = new Map<string, number>();
  const learner: Learner = { env, cookie, terminals: {} as Learner["terminals"], passedAt, latest: env.steps, stop: () => undefined, commands: 0 };
  learner.stop = watch(app, env.id, cookie, (v) => {
    learner.latest = v.steps;
    for (const s of v.steps) if (s.status === "pass" && !passedAt.has(s.id)) passedAt.set(s.id, performance.now());
  });
  const ws = app.url.replace(/^http/, "ws");
  for (const machine of ["mail", "partner"] as const) {
    const t = new TestTerminal(`${ws}/ws/terminal/${env.id}/${machine}`, { headers: { cookie, origin: app.url }, cols: 160, rows: 40 }).connect();
    await t.until(() => /[#$] $/.test(t.textFrom(Math.max(0, t.textLength - 20))), `${machine} prompt`, 60_000);
    learner.terminals[machine] = t;
  }
  return learner;
}

/** Types a command and resolves when its output is complete (the learner sees the prompt again). */
async function type(l: Learner, c: Command, n: number): Promise<number> {
  const t = l.terminals[c.machine];
  const p = l.env.params;
  const text = c.text.replaceAll("{{domain}}", p.domain).replaceAll("{{pw1}}", p.users[0]!.password).replaceAll("{{pw2}}", p.users[1]!.password);
  const marker = `done-${n}-${Math.random().toString(36).slice(2, 7)}`;
  const from = t.textLength;
  // Quoted apart, so the echo of the typed line does not contain the marker, only the output does.
  t.type(`${text}; echo "${marker.slice(0, 3)}""${marker.slice(3)}"\r`);
  await t.until(() => t.textFrom(from).includes(marker), `output of ${c.text.slice(0, 40)}`, 600_000);
  l.commands++;
  return performance.now();
}

async function verdict(l: Learner, step: string, since: number, timeoutMs = 30_000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const at = l.passedAt.get(step);
    if (at !== undefined) return Math.max(0, at - since);
    await sleep(10);
  }
  const s = l.latest.find((x) => x.id === step);
  throw new Error(`step ${step} not passed within ${timeoutMs} ms: ${JSON.stringify(s?.checks.filter((c) => !c.ok).map((c) => c.message))}`);
}

/** `docker exec`s into these environments' containers during `fn`, by kind, from Docker's own event stream. */
async function countExecs<T>(envIds: string[], fn: () => Promise<T>): Promise<{ result: T; execs: Record<string, number>; samples: string[] }> {
  const events = spawn("docker", ["events", "--filter", "type=container", "--filter", "event=exec_create", "--format", "{{.Action}}|{{.Actor.Attributes.name}}"]);
  const execs: Record<string, number> = { terminal: 0, channel: 0, other: 0 };
  const samples: string[] = [];
  events.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    for (const line of chunk.split("\n")) {
      if (!envIds.some((id) => line.includes(`|maillab-${id}-`))) continue;
      if (samples.length < 20) samples.push(line.slice(0, 160));
      if (line.includes("bash -l") || line.includes("maillab-shell")) execs.terminal!++;
      else if (line.includes("dispatcher.sh")) execs.channel!++;
      else execs.other!++;
    }
  });
  await sleep(300);
  try {
    return { result: await fn(), execs, samples };
  } finally {
    await sleep(500);
    events.kill();
  }
}

/**
 * CPU seconds the machines of these environments used so far, by machine (cgroup v1 cpuacct, as on
 * the reference machine; NaN elsewhere). The probe's share is the checks' own work in the machines.
 */
function machineCpuS(envIds: string[]): Record<string, number> {
  const out: Record<string, number> = { mail: 0, partner: 0, probe: 0 };
  for (const id of envIds) {
    for (const machine of Object.keys(out)) {
      try {
        const full = execFileSync("docker", ["inspect", "-f", "{{.Id}}", `maillab-${id}-${machine}`], { encoding: "utf8" }).trim();
        out[machine]! += Number(readFileSync(`/sys/fs/cgroup/cpuacct/docker/${full}/cpuacct.usage`, "utf8")) / 1e9;
      } catch {
        out[machine] = NaN;
      }
    }
  }
  return out;
}

/** Busy CPU seconds of the whole machine so far (/proc/stat: everything but idle and iowait). */
function hostBusyCpuS(): number {
  const [, ...f] = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).map(Number);
  const hz = 100;
  return (f.reduce((a, b) => a + b, 0) - f[3]! - f[4]!) / hz;
}

async function runLearners(app: RunningApp, count: number, gapMs: number) {
  const learners: Learner[] = [];
  // Created a few at a time, as a class joins.
  for (let i = 0; i < count; i += 4) learners.push(...(await Promise.all(Array.from({ length: Math.min(4, count - i) }, () => startLearner(app)))));
  const latencies: number[] = [];
  const byStep: Record<string, number[]> = {};
  const load: number[] = [];
  const sampler = setInterval(() => load.push(os.loadavg()[0]!), 2000);
  const ids = learners.map((l) => l.env.id);
  const cpuBefore = machineCpuS(ids);
  const hostBefore = hostBusyCpuS();
  const failures: string[] = [];
  const { execs, samples } = await countExecs(learners.map((l) => l.env.id), () =>
    Promise.all(
      learners.map(async (l, k) => {
        await sleep((k * gapMs) / count); // spread over the interval, not all at once
        // A class is not in lockstep: each learner takes 7-13 s (10 on average) before the next command.
        const jitter = () => gapMs * (0.7 + 0.6 * Math.random());
        for (const [n, c] of SCRIPT.entries()) {
          const done = await type(l, c, n);
          if (c.completes) {
            try {
              const ms = await verdict(l, c.completes, done);
              latencies.push(ms);
              (byStep[c.completes] ??= []).push(Math.round(ms));
            } catch (e) {
              failures.push(String(e));
            }
          }
          await sleep(count > 1 ? jitter() : gapMs);
        }
      }),
    ),
  );
  clearInterval(sampler);
  const cpuAfter = machineCpuS(ids);
  const hostCpuS = hostBusyCpuS() - hostBefore;
  const logLines = learners.map((l) => Number(execFileSync("docker", ["exec", `maillab-${l.env.id}-mail`, "grep", "-c", "maillab-check", "/var/log/mail.log"], { encoding: "utf8" }).trim()));
  const commands = learners.reduce((n, l) => n + l.commands, 0);
  for (const l of learners) {
    l.stop();
    for (const t of Object.values(l.terminals)) t.close();
    await fetch(`${app.url}/api/environments/${l.env.id}`, { method: "DELETE", headers: { cookie: l.cookie, origin: app.url } }).catch(() => undefined);
  }
  if (process.env.MAILLAB_BENCH_VERBOSE) {
    console.log(`[loop] execs seen:\n  ${samples.join("\n  ")}`);
    console.log(`[loop] command → verdict by step (ms): ${JSON.stringify(byStep)}`);
  }
  if (failures.length) console.error(`[loop] ${failures.length} verdicts missing:\n  ${failures.slice(0, 5).join("\n  ")}`);
  return {
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    max: Math.max(...latencies),
    verdicts: latencies.length,
    missing: failures.length,
    commands,
    execsPerCommand: (execs.channel! + execs.other!) / commands,
    channelOpens: execs.channel!,
    otherExecs: execs.other!,
    terminalExecs: execs.terminal!,
    checkLogLinesPerCommand: logLines.reduce((a, b) => a + b, 0) / commands,
    hostCpuS,
    probeCpuS: cpuAfter.probe! - cpuBefore.probe!,
    mailCpuS: cpuAfter.mail! - cpuBefore.mail!,
    partnerCpuS: cpuAfter.partner! - cpuBefore.partner!,
    loadAvgMax: Math.max(0, ...load),
    loadAvgMedian: percentile(load, 50),
  };
}

export async function benchLoop(): Promise<Record<string, number>> {
  const verbose = Boolean(process.env.MAILLAB_BENCH_VERBOSE);
  const app = await startApp({ MAILLAB_WARM_POOL: "0", ...(verbose ? { MAILLAB_DEBUG_CHECKS: "1" } : {}) });
  try {
    const quiet = await runLearners(app, 1, 3000);
    if (verbose) console.log(app.output().split("\n").filter((l) => l.includes("[eval ")).join("\n"));
    const busy = await runLearners(app, Number(process.env.MAILLAB_BENCH_LEARNERS ?? 30), 10_000);
    const out: Record<string, number> = {};
    for (const [name, figures] of Object.entries({ quiet, busy })) for (const [k, v] of Object.entries(figures)) out[`${name}.${k}`] = Math.round(v * 100) / 100;
    return out;
  } finally {
    await app.dispose();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  void benchLoop().then((r) => {
    console.table(r);
    process.exit(0);
  });
}
