// The learning loop on real machines (real Docker engine, Postfix, Dovecot): the product layer
// with the real environments module and the real course, the learner's actions done as a learner
// does them (commands in mail and partner). Shows "was done, now broken" appearing and clearing,
// lasting evidence, progression into Lab 12.2, and that the checks stay quiet and attributable:
// no mail.log line of theirs names partner, a command that changes nothing costs no check, and
// no check mail sits in a mailbox or the queue.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StepView } from "@/lib/api-types";
import { EnvironmentManager } from "../docker/environments";
import { createLabs, loadCourse } from "../labs";
import { createMaillab } from "./index";
import type { Machines } from "./ports";
import { tempStore } from "./testing";

const course = loadCourse();
let manager: EnvironmentManager;
let t: ReturnType<typeof tempStore>;
let maillab: ReturnType<typeof createMaillab>;
let envId: string;

async function sh(machine: "mail" | "partner", script: string): Promise<string> {
  const r = await manager.exec(envId, machine, ["bash", "-c", script], { timeoutMs: 120_000 });
  if (r.exitCode !== 0) throw new Error(`${machine}: ${script}: exit ${r.exitCode}\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

const row = () => t.store.getEnvironment(envId)!;
const view = () => maillab.environmentView(row(), "en");
const stepOf = (id: string): StepView => view().steps.find((s) => s.id === id)!;
const describeSteps = () => view().steps.map((s) => `${s.labId}/${s.id}: ${s.status}${s.broken ? " BROKEN" : ""} ${s.checks.filter((c) => !c.ok).map((c) => `[${c.id}: ${c.message}]`).join(" ")}`).join("\n");

/** A learner's command, then what the terminal's prompt triggers: one evaluation (awaited here). */
async function command(machine: "mail" | "partner", script: string): Promise<void> {
  await sh(machine, script);
  await maillab.checkNow(row()); // like the prompt's evaluation, but awaited
}

const logLines = async () => Number((await sh("mail", "wc -l </var/log/mail.log")).trim());

beforeAll(async () => {
  manager = new EnvironmentManager({ labels: { "maillab.test": `loop-${process.pid}` }, idleStopMs: 0, ttlMs: 0, hostFirewall: false, log: () => undefined });
  await manager.init();
  t = tempStore();
  const machines: Machines = {
    create: async () => {
      const info = await manager.create({ usePool: false });
      return { id: info.id, params: info.params };
    },
    status: (id) => manager.status(id),
    notice: (id) => manager.notice(id),
    onChange: (listener) => manager.onChange((change) => listener(change.id)),
    resume: (id) => manager.resume(id),
    waitReady: (id) => manager.waitReady(id),
    stop: (id) => manager.stop(id),
    reset: async (id, params) => void (await manager.reset(id, { params })),
    destroy: (id) => manager.destroy(id),
    touch: (id) => manager.touch(id),
    fillPool: () => undefined,
    poolStatus: () => ({ ready: 0, target: 0 }),
  };
  const labs = createLabs({ run: (id, machine, job) => manager.runScript(id, machine, job), course });
  maillab = createMaillab({ store: t.store, machines, labs, events: t.events, log: () => undefined });
  const { environment } = await maillab.startSelfPaced(null, "Lena", "12-1");
  envId = environment.id;
  await manager.waitReady(envId);
  await maillab.checkNow(row());
}, 600_000);

afterAll(async () => {
  maillab?.dispose();
  if (envId) await manager.destroy(envId).catch(() => undefined);
  manager?.dispose();
  t?.dispose();
});

describe("the learning loop on real machines", () => {
  it("Lab 12.1 by hand: each step turns green in order; exploring costs no checks", async () => {
    expect(stepOf("inet-interfaces")).toMatchObject({ status: "fail", current: true });
    expect(stepOf("mydestination")).toMatchObject({ status: "pending", current: false });
    // Exploring: after a command that changes nothing relevant, the prompt's evaluation and its two
    // follow-up looks run only the fingerprint (one script each) and write nothing to mail.log.
    await sh("mail", "postconf inet_interfaces; ls /etc/postfix >/dev/null");
    const lines = await logLines();
    const before = manager.commandStats();
    maillab.onPrompt(envId);
    await new Promise((r) => setTimeout(r, 3500));
    const after = manager.commandStats();
    expect(after.scripts - before.scripts).toBe(4); // the prompt's look and three follow-ups
    expect(after.execs - before.execs, "no docker exec in steady state").toBe(0);
    expect(await logLines()).toBe(lines);

    await command("mail", "postconf -e inet_interfaces=all && systemctl restart postfix");
    expect(stepOf("inet-interfaces"), describeSteps()).toMatchObject({ status: "pass", current: false });
    expect(stepOf("mydestination")).toMatchObject({ status: "fail", current: true });
    const { domain } = view().params;
    await command("mail", `postconf -e "mydestination = \\$myhostname, localhost.localdomain, localhost, ${domain}" && postfix reload`);
    expect(stepOf("mydestination"), describeSteps()).toMatchObject({ status: "pass" });
    // Step 2's own instruction (a mail to the own domain refused before the fix) is no relay attempt.
    expect(stepOf("no-open-relay").status).toBe("fail");
    await command("partner", `{ sleep 0.3; printf 'EHLO partner\\r\\nMAIL FROM:<test@partner>\\r\\nRCPT TO:<jemand@anderswo.example>\\r\\nQUIT\\r\\n'; sleep 0.5; } | nc -w 5 mail 25`);
    expect(stepOf("no-open-relay"), describeSteps()).toMatchObject({ status: "pass" });
    await command("partner", `{ sleep 0.3; printf 'HELO partner\\r\\nMAIL FROM:<bob@${domain}>\\r\\nRCPT TO:<alice@${domain}>\\r\\nDATA\\r\\n'; sleep 0.3; printf 'Subject: Hallo\\r\\n\\r\\nText\\r\\n.\\r\\nQUIT\\r\\n'; sleep 0.5; } | nc -w 5 mail 25 && sleep 1`);
    expect(stepOf("telnet-mail"), describeSteps()).toMatchObject({ status: "pass" });
    // Progression: Lab 12.2 is current now, without skip or solve.
    expect(view().lab).toBe("12-2");
    expect(view().labs.map((l) => l.status)).toEqual(["done", "current"]);
    expect(stepOf("install-dovecot")).toMatchObject({ status: "fail", current: true });
  });

  it("a passed step that breaks shows 'was done, now broken' and clears when repaired", async () => {
    const passedAt = stepOf("inet-interfaces").passedAt;
    await command("mail", "postconf -e inet_interfaces=loopback-only && systemctl restart postfix");
    const broken = stepOf("inet-interfaces");
    expect(broken, describeSteps()).toMatchObject({ status: "pass", broken: true, passedAt });
    expect(broken.checks.find((c) => !c.ok)?.hints.join(" ")).toMatch(/inet_interfaces/);
    // The evidence steps stay done: what the learner did stays done.
    expect(stepOf("telnet-mail")).toMatchObject({ status: "pass", broken: false });
    expect(view().lab).toBe("12-2");
    await command("mail", "postconf -e inet_interfaces=all && systemctl restart postfix");
    expect(stepOf("inet-interfaces"), describeSteps()).toMatchObject({ status: "pass", broken: false, passedAt });
  });

  it("Lab 12.2 by hand; reading the mail with `mail` (it moves to ~/mbox) and deleting it over POP3 never undoes a step", async () => {
    await command("mail", "apt-get install -y dovecot-imapd dovecot-pop3d >/dev/null 2>&1");
    expect(stepOf("install-dovecot"), describeSteps()).toMatchObject({ status: "pass" });
    const { users, domain } = view().params;
    const [alice, bob] = users as [{ name: string; password: string }, { name: string; password: string }];
    await command("partner", `printf 'a SELECT INBOX\r\nb FETCH 1 BODY[]\r\nc LOGOUT\r\n' | timeout 20 imtest -t "" -a alice -w ${alice.password} -m plain mail >/dev/null 2>&1; true`);
    expect(stepOf("imap-pop3-login").status, "IMAP alone is not enough").toBe("fail");
    await command("partner", `printf 'LIST\r\nRETR 1\r\nQUIT\r\n' | timeout 20 pop3test -t "" -a alice -w ${alice.password} mail >/dev/null 2>&1; true`);
    expect(stepOf("imap-pop3-login"), describeSteps()).toMatchObject({ status: "pass" });
    // alice reads her mail with `mail`: it moves to ~/mbox, /var/mail/alice is empty now.
    await command("mail", `su - alice -c 'printf "p 1\\nq\\n" | mail' >/dev/null && test ! -s /var/mail/alice && test -s /home/alice/mbox`);
    expect(stepOf("telnet-mail")).toMatchObject({ status: "pass", broken: false });
    expect(stepOf("imap-pop3-login")).toMatchObject({ status: "pass", broken: false });

    // Step 3 as on the slides, typed into main.cf and 10-master.conf.
    await command(
      "mail",
      [
        `postconf -e 'smtpd_tls_auth_only = yes' 'smtpd_sasl_auth_enable = yes' 'smtpd_sasl_type = dovecot' 'smtpd_sasl_path = private/auth' 'smtpd_sasl_security_options = noanonymous' 'smtpd_sasl_authenticated_header = yes' 'smtpd_recipient_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination'`,
        `perl -0pi -e 's|#unix_listener /var/spool/postfix/private/auth \\{\\n\\s*#\\s*mode = 0666\\n\\s*#\\}|unix_listener /var/spool/postfix/private/auth {\\n    mode = 0600\\n    user = postfix\\n    group = postfix\\n  }|' /etc/dovecot/conf.d/10-master.conf`,
        "systemctl restart dovecot",
        "postfix reload",
      ].join(" && "),
    );
    expect(stepOf("smtp-auth"), describeSteps()).toMatchObject({ status: "pass" });
    // Step 4: smtptest as alice to bob.
    await command(
      "partner",
      `{ sleep 1.5; printf 'MAIL FROM:<alice@${domain}>\r\nRCPT TO:<bob@${domain}>\r\nDATA\r\n'; sleep 0.3; printf 'Subject: Gruss\r\n\r\nHallo bob\r\n.\r\nQUIT\r\n'; sleep 1; } | timeout 20 smtptest -t "" -a alice -u alice -w ${alice.password} mail >/dev/null 2>&1; sleep 1`,
    );
    expect(stepOf("smtptest-mail"), describeSteps()).toMatchObject({ status: "pass" });
    expect(view().labs.map((l) => l.status)).toEqual(["done", "done"]);
    // bob deletes it over POP3 (DELE, QUIT): the step stays done.
    await command(
      "partner",
      `{ printf 'USER bob\r\nPASS ${bob.password}\r\nRETR 1\r\nDELE 1\r\nQUIT\r\n'; sleep 2; } | timeout 20 openssl s_client -quiet -starttls pop3 -connect mail:110 >/dev/null 2>&1; true`,
    );
    // (Dovecot keeps its "FOLDER INTERNAL DATA" pseudo message from MAILER_DAEMON in the mbox.)
    expect((await sh("mail", "grep '^From ' /var/mail/bob | grep -vc MAILER_DAEMON || true")).trim()).toBe("0");
    expect(stepOf("smtptest-mail"), describeSteps()).toMatchObject({ status: "pass", broken: false });
    for (const s of view().steps) expect(s, describeSteps()).toMatchObject({ status: "pass", broken: false });
  });

  it("the checks' traffic never names partner, and no check mail sits in a mailbox or the queue", async () => {
    const log = await sh("mail", "cat /var/log/mail.log");
    const partnerIp = view().params.partnerIp;
    const checkLines = log.split("\n").filter((l) => /maillab-check/.test(l));
    expect(checkLines.length).toBeGreaterThan(0);
    for (const l of log.split("\n").filter((x) => x.includes(`[${partnerIp}]`) || x.includes(`rip=${partnerIp},`))) {
      expect(l, "a line under partner's name comes from a check").not.toMatch(/maillab-check/);
    }
    expect(await sh("mail", "grep -l maillab-check /var/mail/* /home/*/mbox 2>/dev/null; true")).toBe("");
    expect((await sh("mail", "postqueue -p")).trim()).toMatch(/Mail queue is empty/);
  });
});
