import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { startApp, type RunningApp } from "./support/app";
import { launchBrowser, typeCommand, waitForStep, waitForTerminalText } from "./support/browser";

/**
 * The learning loop as a student meets it (docs/learning-loop.md): a German browser at device
 * pixel ratio 1 starts self-paced and types Lab 12.1 and Lab 12.2 by hand into the terminals, as the
 * lecture says (telnet, imtest, pop3test and smtptest typed line by line, passwords at their
 * prompts), with no solve and no skip. Every step turns green in order, Lab 12.2 follows by itself;
 * then the student reads the mail with `mail` and deletes it over POP3, and every step stays green.
 * The command → green times seen in the browser are printed (the bench measures them; this is no
 * timed test).
 */
let app: RunningApp;
let browser: Browser;
let page: Page;
let domain = "";
const passwords: Record<string, string> = {};
const times: Record<string, number> = {};

beforeAll(async () => {
  app = await startApp();
  browser = await launchBrowser();
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 768 }, deviceScaleFactor: 1, locale: "de-DE" });
  page = await ctx.newPage();
}, 900_000);

afterAll(async () => {
  console.log(`[learning loop] command → green in the browser (ms): ${JSON.stringify(times)}`);
  await browser?.close();
  await app?.dispose();
});

/** A command typed at the shell; resolves when its output is complete (the marker echoed). */
async function run(machine: "mail" | "partner", command: string, timeoutMs = 120_000): Promise<number> {
  const marker = `fertig-${Math.random().toString(36).slice(2, 7)}`;
  await typeCommand(page, machine, `${command}; echo "${marker.slice(0, 3)}""${marker.slice(3)}"`);
  await waitForTerminalText(page, machine, new RegExp(marker), timeoutMs);
  return Date.now();
}

/** Lines typed into an interactive program (telnet, imtest, …), one by one as a person would. */
async function lines(machine: "mail" | "partner", input: string[], until?: RegExp): Promise<void> {
  for (const line of input) await typeCommand(page, machine, line);
  if (until) await waitForTerminalText(page, machine, until, 30_000);
}

async function green(stepId: string, since: number): Promise<void> {
  await waitForStep(page, stepId, "pass", 30_000);
  times[stepId] = Date.now() - since;
}

const stepsOf: Record<string, string[]> = {
  "12-1": ["inet-interfaces", "mydestination", "no-open-relay", "telnet-mail"],
  "12-2": ["install-dovecot", "imap-pop3-login", "smtp-auth", "smtptest-mail"],
};

async function environment(): Promise<{ lab: string; steps: Array<{ id: string; status: string; broken?: boolean; passedAt: number | null }> }> {
  return (await page.request.get(`${app.url}/api/environments/${page.url().split("/").at(-1)}`)).json();
}

/** Every step of these labs passed and is not broken: in the API, and on the page (each lab's tab). */
async function expectAllPassed(labs: string[]): Promise<void> {
  const ids = labs.flatMap((l) => stepsOf[l]!);
  await expect
    .poll(async () => (await environment()).steps.filter((s) => ids.includes(s.id)).map((s) => `${s.id}:${s.status}${s.broken ? ":broken" : ""}`), { timeout: 10_000 })
    .toEqual(ids.map((id) => `${id}:pass`));
  for (const lab of labs) {
    await page.getByTestId(`lab-tab-${lab}`).click();
    for (const id of stepsOf[lab]!) await waitForStep(page, id, "pass", 5_000);
  }
  // Back to the lab the student works on.
  await page.getByTestId(`lab-tab-${(await environment()).lab}`).click();
}

describe("both labs by hand in the browser", () => {
  it("starts self-paced; nothing is red before the student typed anything", async () => {
    await page.goto(`${app.url}/`);
    await page.getByTestId("start-self-paced").click();
    await page.waitForURL(/\/lab\/[a-z0-9]{12}$/);
    await page.locator('[data-testid="terminal-status-mail"][data-status="open"]').waitFor({ timeout: 60_000 });
    await page.locator('[data-testid="terminal-status-partner"][data-status="open"]').waitFor({ state: "attached", timeout: 60_000 });
    const env = await (await page.request.get(`${app.url}/api/environments/${page.url().split("/").at(-1)}`)).json();
    domain = env.params.domain;
    passwords.alice = env.params.users[0].password;
    passwords.bob = env.params.users[1].password;
    expect(domain).toMatch(/\.example\.test$/);
  });

  it("Lab 12.1: each step turns green after the command that does it", async () => {
    // Looking around first: nothing turns green, nothing turns red.
    await run("mail", "postconf inet_interfaces mydestination mynetworks");
    expect(await page.locator('[data-testid^="step-"][data-status="pass"]').count()).toBe(0);

    let t = await run("mail", "postconf -e inet_interfaces=all && systemctl restart postfix");
    await green("inet-interfaces", t);

    t = await run("mail", `postconf -e "mydestination = \\$myhostname, localhost.localdomain, localhost, ${domain}" && postfix reload`);
    await green("mydestination", t);

    await run("partner", "clear");

    await typeCommand(page, "partner", "telnet mail 25");
    await waitForTerminalText(page, "partner", /220 .*ESMTP/);
    await lines("partner", ["EHLO partner", "MAIL FROM:<test@partner>", "RCPT TO:<jemand@anderswo.example>"], /Relay access denied/);
    t = Date.now();
    await typeCommand(page, "partner", "QUIT");
    await green("no-open-relay", t);

    await run("partner", "clear");

    await typeCommand(page, "partner", "telnet mail 25");
    await waitForTerminalText(page, "partner", /220 .*ESMTP/);
    await lines("partner", ["HELO partner", `MAIL FROM:<bob@${domain}>`, `RCPT TO:<alice@${domain}>`, "DATA", "Subject: Hallo", "", "Hallo Alice!", "."], /queued as/);
    // Still inside telnet: the mail is there, the step passes before QUIT, and with it the whole
    // lab: the page moves on to Lab 12.2 by itself.
    t = Date.now();
    await page.locator('[data-testid="step-install-dovecot"]').waitFor({ timeout: 30_000 });
    times["telnet-mail"] = Date.now() - t;
    await typeCommand(page, "partner", "QUIT");
    await expectAllPassed(["12-1"]);
  });

  it("Lab 12.2 follows by itself, and is worked by hand too", async () => {
    // No button: the page shows Lab 12.2's first step, the API says so.
    await page.locator('[data-testid="step-install-dovecot"]').waitFor({ timeout: 30_000 });
    expect((await environment()).lab).toBe("12-2");
    let t = await run("mail", "apt install -y dovecot-imapd dovecot-pop3d", 300_000);
    await green("install-dovecot", t);

    await run("partner", "clear");

    await typeCommand(page, "partner", 'imtest -t "" -a alice mail');
    await waitForTerminalText(page, "partner", /[Pp]assword:\s*$/);
    await lines("partner", [passwords.alice!], /Authenticated/);
    await lines("partner", ["a SELECT INBOX", "b FETCH 1 BODY[]"], /Hallo Alice!/);
    await lines("partner", ["c LOGOUT"], /Connection closed/);
    await run("partner", "clear");
    await typeCommand(page, "partner", 'pop3test -t "" -a alice mail');
    await waitForTerminalText(page, "partner", /[Pp]assword:\s*$/);
    await lines("partner", [passwords.alice!, "LIST", "RETR 1"], /Hallo Alice!/);
    t = Date.now();
    await lines("partner", ["QUIT"]);
    await green("imap-pop3-login", t);

    t = await run(
      "mail",
      "postconf -e 'smtpd_tls_auth_only = yes' 'smtpd_sasl_auth_enable = yes' 'smtpd_sasl_type = dovecot' 'smtpd_sasl_path = private/auth' " +
        "'smtpd_sasl_security_options = noanonymous' 'smtpd_sasl_authenticated_header = yes' " +
        "'smtpd_recipient_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination'",
    );
    // 10-master.conf, block `service auth`: the listener as on the slide (uncommenting Debian's sample and fixing it).
    await run(
      "mail",
      "sed -i -e 's|^  #unix_listener /var/spool/postfix/private/auth {|  unix_listener /var/spool/postfix/private/auth {\\n    mode = 0600\\n    user = postfix\\n    group = postfix|' " +
        "-e '/unix_listener \\/var\\/spool\\/postfix\\/private\\/auth/,/#}/{/#  mode = 0666/d;s|^  #}|  }|}' /etc/dovecot/conf.d/10-master.conf && doveconf -n | grep -A4 private/auth",
    );
    t = await run("mail", "systemctl restart dovecot && postfix reload");
    await green("smtp-auth", t);

    await run("partner", "clear");

    await typeCommand(page, "partner", 'smtptest -t "" -p 25 -a alice -u alice mail');
    await waitForTerminalText(page, "partner", /[Pp]assword:\s*$/);
    await lines("partner", [passwords.alice!], /Authenticated/);
    await lines("partner", [`MAIL FROM:<alice@${domain}>`, `RCPT TO:<bob@${domain}>`, "DATA", "Subject: Gruss mit Anmeldung", "", "Hallo bob!", "."], /queued as/);
    // Still inside smtptest, as in Lab 12.1's telnet step: the delivered mail's Received header says
    // ESMTPSA (TLS and AUTH), so the step passes before QUIT.
    t = Date.now();
    await green("smtptest-mail", t);
    await lines("partner", ["QUIT"]);
    await expectAllPassed(["12-1", "12-2"]);
  });

  it("reading the mail with `mail` and deleting it over POP3 leaves every step green", async () => {
    await typeCommand(page, "mail", "su - alice");
    await typeCommand(page, "mail", "mail");
    await waitForTerminalText(page, "mail", /Hallo/);
    await lines("mail", ["p 1", "q"], /Saved 1 message/);
    await typeCommand(page, "mail", "exit");
    await run("mail", "ls -l /var/mail/alice /home/alice/mbox");

    await run("partner", "clear");

    await typeCommand(page, "partner", 'pop3test -t "" -a bob mail');
    await waitForTerminalText(page, "partner", /[Pp]assword:\s*$/);
    await lines("partner", [passwords.bob!, "LIST", "DELE 1", "QUIT"], /Connection closed/);
    await run("partner", "sleep 3");
    await expectAllPassed(["12-1", "12-2"]);
  });
});
