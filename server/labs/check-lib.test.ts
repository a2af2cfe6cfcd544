// The evidence logic of labs/mailserver-teil-2/lib/check-lib.sh and the evidence checks on a sample
// mail.log and mbox, run with the local bash and awk (mawk, as in the lab machines): which mails,
// sessions and log lines count as the learner's, and that the checks' own traffic (the probe,
// maillab-check at 10.213.0.4) never does.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { defaultCourseDir } from "./load-course";

const COURSE = defaultCourseDir();
const LIB = path.join(COURSE, "lib", "check-lib.sh");
const FIX = path.join(import.meta.dirname, "__fixtures__", "mail");
const tmp = mkdtempSync(path.join(tmpdir(), "maillab-checklib-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function run(script: string, env: Record<string, string> = {}): { status: number; out: string } {
  // mailbox_files is the one helper that needs real users: point it at the fixture's mbox.
  const r = spawnSync("bash", ["-c", `source "${LIB}"; mailbox_files() { for u; do [ -f "${FIX}/$u.mbox" ] && echo "${FIX}/$u.mbox"; done; return 0; }\n${script}`], {
    env: {
      ...process.env,
      MAIL_LOG: path.join(FIX, "mail.log"),
      MAILLAB_PARTNER_IP: "10.213.0.3",
      MAILLAB_PROBE_IP: "10.213.0.4",
      MAILLAB_MAIL_IP: "10.213.0.2",
      MAILLAB_USER1: "alice",
      MAILLAB_USER2: "bob",
      MAILLAB_PASSWORD1: "kavemu47",
      MAILLAB_PASSWORD2: "ritapu23",
      MAILLAB_DOMAIN: "k7qa.example.test",
      MAILLAB_MAIL_HOST: "mail.k7qa.example.test",
      MAILLAB_CHECK_HELO: "maillab-check.invalid",
      ...env,
    },
    encoding: "utf8",
  });
  return { status: r.status ?? -1, out: r.stdout + r.stderr };
}

function sh(script: string, env?: Record<string, string>): string {
  const r = run(script, env);
  if (r.status !== 0) throw new Error(`bash exited ${r.status}: ${r.out}`);
  return r.out;
}

/** Runs a step's check script from the course, as the runner would (check-lib first). */
function checkScript(rel: string, env?: Record<string, string>) {
  return run(`. "${path.join(COURSE, rel)}"`, env);
}

function log(lines: string[]): string {
  const file = path.join(tmp, `mail-${Math.random().toString(36).slice(2)}.log`);
  writeFileSync(file, lines.join("\n") + "\n");
  return file;
}

describe("check-lib evidence helpers", () => {
  it("partner_deliveries: mails from partner delivered to the users, with TLS or not; others' and the probe's never", () => {
    expect(sh("partner_deliveries").trim().split("\n").sort()).toEqual(["AAAAAAAAAA - alice plain", "DDDDDDDDDD alice bob tls", "EEEEEEEEEE alice bob plain"]);
  });

  it("partner_deliveries sasl: only authenticated submissions from partner", () => {
    expect(sh("partner_deliveries sasl").trim().split("\n").sort()).toEqual(["DDDDDDDDDD alice bob tls", "EEEEEEEEEE alice bob plain"]);
  });

  it("received_headers: the topmost Received header of each message, unfolded, not from the body", () => {
    const headers = sh("received_headers bob").trim().split("\n");
    expect(headers).toHaveLength(2);
    expect(headers[0]).toBe(
      "Received: from smtptest (partner.net [10.213.0.3]) (Authenticated sender: alice) by mail.k7qa.example.test (Postfix) with ESMTPSA id DDDDDDDDDD for <bob@mail.k7qa.example.test>; Fri, 27 Nov 2026 22:02:01 +0000 (UTC)",
    );
    expect(headers[1]).toMatch(/^Received: from maillab-check\.invalid /);
  });

  it("dovecot_sessions: the learner's logins from partner with TLS and what was read; the probe's connection is not one", () => {
    expect(sh("dovecot_sessions").trim().split("\n")).toEqual(["imap bob tls 1 imap1", "pop3 alice tls 0 pop1", "pop3 alice tls - pop2"]);
  });

  it("mail_log_since and changed_at: only what happened after the last relevant change", () => {
    const since = sh("date -u -d 2026-11-27T22:03:00 +%s").trim();
    const lines = sh(`mail_log_since "$(changed_at postfix dovecot)"`, { MAILLAB_CHANGED: `postfix=${since} mail-log=9999999999` }).trim().split("\n");
    expect(lines[0]).toContain("<x@y.example>");
    expect(sh("changed_at postfix", { MAILLAB_CHANGED: "postfix=5 dovecot=7" }).trim()).toBe("5");
    expect(sh("changed_at postfix dovecot", { MAILLAB_CHANGED: "postfix=5 dovecot=7" }).trim()).toBe("7");
    expect(sh("changed_at tls").trim()).toBe("0");
    // To the millisecond (the app's looks), compared with mail.log's microseconds.
    expect(sh("changed_at postfix dovecot", { MAILLAB_CHANGED: "postfix=1764500000.250 dovecot=1764500000.1 tls=0" }).trim()).toBe("1764500000.250");
    expect(sh("changed_at tls postfix", { MAILLAB_CHANGED: "tls=0 postfix=1764500000.005" }).trim()).toBe("1764500000.005");
    const second = sh("date -u -d 2026-11-27T22:00:01 +%s").trim();
    const inSecond = sh(`mail_log_since ${second}.000002 | grep -c '^2026-11-27T22:00:01'`).trim();
    expect(inSecond).toBe("3"); // .000002 to .000004 of that second, not .000001 before them
    expect(sh('mail_log_since 0 | wc -l').trim()).toBe(sh('wc -l <"$MAIL_LOG"').trim());
  });

  it("small helpers", () => {
    expect(sh('ip_in_cidr 10.213.0.3 10.213.0.0/28 && echo in; ip_in_cidr 10.213.0.19 10.213.0.0/28 || echo out; ip_in_cidr 1.2.3.4 0.0.0.0/0 && echo all').trim()).toBe("in\nout\nall");
    expect(sh('in_list K7QA.example.test "mail.k7qa.example.test, k7qa.example.test localhost" && echo yes; in_list example.test "k7qa.example.test" || echo no').trim()).toBe("yes\nno");
    expect(sh('r=$\'250-mail\\n250-STARTTLS\\n250-AUTH PLAIN LOGIN\\n250 CHUNKING\\n\'; ehlo_has "$r" starttls && echo tls; ehlo_has "$r" AUTH && echo auth; ehlo_has "$r" DSN || echo nodsn; SMTP_REPLY=$r smtp_auth_mechs').trim()).toBe("tls\nauth\nnodsn\nPLAIN LOGIN");
    expect(sh('last_line $\'a\\nb\\nc\\n\'; echo; first_line $\'a\\nb\'').trim()).toBe("c\na");
    expect(sh("auth_plain_token alice secret").trim()).toBe(Buffer.from("\0alice\0secret").toString("base64"));
  });
});

describe("check-lib: what Postfix complains about", () => {
  // postconf is Postfix's: the host running the unit tests has none. Stand-ins print what the
  // machine's would (a warning for a misspelt parameter name; the values the helpers ask for).
  const fakePostconf = `postconf() { if [ "$1" = -n ]; then echo "postconf: warning: /etc/postfix/main.cf: unused parameter: inet_interface=all" >&2; fi; return 0; }`;
  const problems = log([
    "2026-11-27T22:10:00.000001+00:00 mail postfix/smtpd[200]: warning: unknown smtpd restriction: \"reject_unauth_destinaton\"",
    "2026-11-27T22:10:00.000002+00:00 mail postfix/smtpd[200]: NOQUEUE: reject: RCPT from partner[10.213.0.3]: 451 4.3.5 Server configuration error; from=<a@b> to=<alice@k7qa.example.test> proto=ESMTP helo=<partner>",
    "2026-11-27T22:10:01.000001+00:00 mail postfix/smtpd[201]: warning: unknown smtpd restriction: \"reject_unauth_destinaton\"",
    "2026-11-27T22:10:02.000001+00:00 mail postmulti[202]: fatal: parameter inet_interfaces: no local interface found for 10.9.9.9",
    "2026-11-27T22:10:03.000001+00:00 mail postfix/master[47]: warning: process /usr/lib/postfix/sbin/smtpd pid 203 exit status 1",
    "2026-11-27T22:10:03.000002+00:00 mail postfix/master[47]: warning: /usr/lib/postfix/sbin/smtpd: bad command startup -- throttling",
    "2026-11-27T22:10:04.000001+00:00 mail postfix/trivial-rewrite[204]: warning: virtual_alias_domains: hash:/etc/postfix/virtual: table lookup problem",
  ]);

  it("postfix_log_problems: each complaint once, without pid, the last three, without mere consequences", () => {
    expect(sh("postfix_log_problems 0", { MAIL_LOG: problems }).trim().split("\n")).toEqual([
      'postfix/smtpd: warning: unknown smtpd restriction: "reject_unauth_destinaton"',
      "postmulti: fatal: parameter inet_interfaces: no local interface found for 10.9.9.9",
      "postfix/trivial-rewrite: warning: virtual_alias_domains: hash:/etc/postfix/virtual: table lookup problem",
    ]);
    // A reload or start at the wrong time says nothing about the configuration.
    const wrongTime = log([
      "2026-11-27T22:11:00.000001+00:00 mail postfix/postfix-script[300]: fatal: the Postfix mail system is not running",
      "2026-11-27T22:11:01.000001+00:00 mail postfix/postfix-script[301]: fatal: the Postfix mail system is already running",
    ]);
    expect(sh("postfix_log_problems 0", { MAIL_LOG: wrongTime }).trim()).toBe("");
    // Only what is new: the lines since the app's last look before a change (changed_at), to the second.
    const since = sh("date -u -d 2026-11-27T22:10:04 +%s").trim();
    expect(sh(`postfix_log_problems ${since}`, { MAIL_LOG: problems }).trim()).toBe(
      "postfix/trivial-rewrite: warning: virtual_alias_domains: hash:/etc/postfix/virtual: table lookup problem",
    );
  });

  it("explain_postfix: Postfix's words quoted, with the lesson's remedy; serious when Postfix cannot serve", () => {
    const r = run(`${fakePostconf}; explain_postfix 0; echo "serious=$?"`, { MAIL_LOG: problems });
    expect(r.out).toContain('HINT[en]: postconf warns: "/etc/postfix/main.cf: unused parameter: inet_interface=all" – Postfix has no parameter inet_interface');
    expect(r.out).toMatch(/HINT\[en\]: mail.log: "postfix\/smtpd: warning: unknown smtpd restriction: "reject_unauth_destinaton"" – "reject_unauth_destinaton" is no Postfix restriction, a typo\?/);
    expect(r.out).toMatch(/HINT\[de\]: mail.log: „postmulti: fatal: .*found for 10.9.9.9“ – inet_interfaces nennt 10.9.9.9, aber mail hat diese Adresse nicht \(mail: 10.213.0.2\)/);
    expect(r.out).toContain("postmap /etc/postfix/virtual");
    expect(r.out).toContain("serious=0");
    const quiet = run(`${fakePostconf}; explain_postfix 0; echo "serious=$?"`, { MAIL_LOG: log(["2026-11-27T22:10:00.000001+00:00 mail postfix/smtpd[1]: connect from partner[10.213.0.3]"]) });
    expect(quiet.out).toContain("serious=1");
  });

  it("explain_postfix: the remedy for a main.cf Postfix cannot read is a reload while it runs, a start once a restart failed", () => {
    const typo = log(['2026-11-27T22:10:00.000001+00:00 mail postmulti[9]: fatal: /etc/postfix/main.cf, line 48: missing \'=\' after attribute name: "mydestination $myhostname"']);
    const running = run(`${fakePostconf}; postfix_running() { return 0; }; explain_postfix 0`, { MAIL_LOG: typo });
    expect(running.out).toMatch(/HINT\[en\]: mail.log: "postmulti: fatal: .*missing '='.*" – the "=" is missing in that line .* Fix it, then postfix reload\./);
    const down = run(`${fakePostconf}; postfix_running() { return 1; }; explain_postfix 0`, { MAIL_LOG: typo });
    expect(down.out).toMatch(/HINT\[de\]: .* Korrigieren Sie sie, dann systemctl start postfix\./);
    expect(down.out).not.toContain("postfix reload");
  });
});

describe("check-lib: Dovecot sessions", () => {
  it("a login from a trusted network without TLS (secured) is not TLS; a session ended by a dropped connection counts what it read", () => {
    const sessions = log([
      "2026-11-27T22:20:00.000001+00:00 mail dovecot: imap-login: Login: user=<alice>, method=PLAIN, rip=10.213.0.3, lip=10.213.0.2, mpid=5001, secured, session=<sec1>",
      "2026-11-27T22:20:01.000001+00:00 mail dovecot: imap(alice)<5001><sec1>: Disconnected: Logged out in=40 out=900 deleted=0 expunged=0 trashed=0 hdr_count=0 hdr_bytes=0 body_count=1 body_bytes=313",
      "2026-11-27T22:21:00.000001+00:00 mail dovecot: imap-login: Login: user=<alice>, method=PLAIN, rip=10.213.0.3, lip=10.213.0.2, mpid=5002, TLS, session=<drop1>",
      "2026-11-27T22:21:02.000001+00:00 mail dovecot: imap(alice)<5002><drop1>: Disconnected: Connection closed (FETCH finished 1.002 secs ago) in=60 out=1300 deleted=0 expunged=0 trashed=0 hdr_count=0 hdr_bytes=0 body_count=1 body_bytes=313",
    ]);
    expect(sh("dovecot_sessions", { MAIL_LOG: sessions }).trim().split("\n")).toEqual(["imap alice plain 1 sec1", "imap alice tls 1 drop1"]);
  });

  it("imtest without -t: the connection without STARTTLS is explained, not blamed on the password", () => {
    const noTls = log([
      "2026-11-27T22:22:00.000001+00:00 mail dovecot: imap-login: Disconnected: Aborted login by logging out (no auth attempts in 0 secs): user=<>, rip=10.213.0.3, lip=10.213.0.2, session=<nt1>",
    ]);
    const r = checkScript("lab-12-2/steps/02-imap-pop3-login/check-learner-imap.sh", { MAIL_LOG: noTls });
    expect(r.status).toBe(1);
    expect(r.out).toContain("HINT[en]: Your last IMAP connection from partner (22:22:00 UTC) had no STARTTLS and no login");
    expect(r.out).toContain("no mechanism available");
    expect(r.out).not.toContain("Passwords:");
  });
});

describe("evidence checks on the sample log", () => {
  it("12.1 relay test: a relay attempt to a foreign domain counts; the probe's, and a refused mail to the own domain, do not", () => {
    const r = checkScript("lab-12-1/steps/03-no-open-relay/check-learner-relay-test.sh");
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain("PASS[en]: Your relay attempt to <x@y.example> was refused");
    const own = log([
      "2026-11-27T21:56:01.000002+00:00 mail postfix/smtpd[99]: NOQUEUE: reject: RCPT from partner[10.213.0.3]: 454 4.7.1 <alice@k7qa.example.test>: Relay access denied; from=<test@partner> to=<alice@k7qa.example.test> proto=SMTP helo=<partner>",
      "2026-11-27T21:58:01.000002+00:00 mail postfix/smtpd[100]: NOQUEUE: reject: RCPT from maillab-check[10.213.0.4]: 454 4.7.1 <someone@elsewhere.example>: Relay access denied; from=<maillab-check@maillab-check.invalid> to=<someone@elsewhere.example> proto=ESMTP helo=<maillab-check.invalid>",
    ]);
    const none = checkScript("lab-12-1/steps/03-no-open-relay/check-learner-relay-test.sh", { MAIL_LOG: own });
    expect(none.status).toBe(1);
    expect(none.out).toContain("HINT[en]: A \"Relay access denied\" for an address @k7qa.example.test does not count");
  });

  it("12.2 step 2: IMAP counts (TLS, a mail read); POP3 does not yet (logged in, nothing read; one session still open)", () => {
    const imap = checkScript("lab-12-2/steps/02-imap-pop3-login/check-learner-imap.sh");
    expect(imap.status, imap.out).toBe(0);
    expect(imap.out).toContain("PASS[en]: IMAP: logged in as bob over TLS and read 1 mail(s)");
    const pop3 = checkScript("lab-12-2/steps/02-imap-pop3-login/check-learner-pop3.sh");
    expect(pop3.status).toBe(1);
    expect(pop3.out).toMatch(/HINT\[en\]: You are logged in by POP3: read the mail/);
  });

  it("12.2 step 2: a login attempt without TLS is explained as such, not blamed on the password", () => {
    const plain = log([
      "2026-11-27T22:03:40.000001+00:00 mail dovecot: imap-login: Aborted login by logging out (auth failed, 1 attempts in 0 secs): user=<alice>, rip=10.213.0.3, lip=10.213.0.2, session=<plain1>",
    ]);
    const r = checkScript("lab-12-2/steps/02-imap-pop3-login/check-learner-imap.sh", { MAIL_LOG: plain });
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/HINT\[en\]: Your last IMAP login attempt \(22:03:40 UTC\) was without TLS: .* it is not the password/);
    expect(r.out).not.toContain("Passwords:");
  });

  it("12.2 step 4: only the submission over TLS counts; AUTH without TLS gets its own hint", () => {
    const r = checkScript("lab-12-2/steps/04-smtptest-mail/check-learner-sasl-mail.sh");
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain("queue id DDDDDDDDDD");
    const plainOnly = log(sh(`grep -v -e DDDDDDDDDD -e 'smtpd\\[107\\]' "$MAIL_LOG"`).trim().split("\n"));
    const p = checkScript("lab-12-2/steps/04-smtptest-mail/check-learner-sasl-mail.sh", { MAIL_LOG: plainOnly });
    expect(p.status).toBe(1);
    expect(p.out).toContain("ESMTPA instead of ESMTPSA");
  });

  it("12.2 step 4: the delivered mail's Received header (ESMTPSA) tells the TLS before the learner types QUIT", () => {
    // smtptest still open: no disconnect line (with its starttls=1) yet.
    const beforeQuit = log(sh(`grep -v 'smtpd\\[107\\]: disconnect' "$MAIL_LOG"`).trim().split("\n"));
    expect(sh("partner_deliveries sasl", { MAIL_LOG: beforeQuit }).trim().split("\n").sort()).toEqual(["DDDDDDDDDD alice bob tls", "EEEEEEEEEE alice bob plain"]);
    const r = checkScript("lab-12-2/steps/04-smtptest-mail/check-learner-sasl-mail.sh", { MAIL_LOG: beforeQuit });
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain("queue id DDDDDDDDDD");
    // The header is the one Postfix wrote for that queue id: the mail in the mailbox with ESMTPA
    // (EEEEEEEEEE) stays without TLS, and a header for an id that was not delivered from partner counts for nothing.
    const other = log(sh(`grep -v -e 'smtpd\\[107\\]: disconnect' -e 'DDDDDDDDDD: client=' "$MAIL_LOG"`).trim().split("\n"));
    expect(sh("partner_deliveries sasl", { MAIL_LOG: other }).trim()).toBe("EEEEEEEEEE alice bob plain");
  });
});
