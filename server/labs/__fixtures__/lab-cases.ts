// Every wrong or alternative configuration (and student action) the labs are tested against: what
// the student does, and what the checks must say about it. One list drives both the tests on real
// machines (server/labs/lab-cases.test.ts) and the instructors' table docs/lab-cases.md (rendered by
// ./lab-cases-doc.ts; server/labs/lab-cases-doc.test.ts fails when the file is not current).
//
// Scripts and key words may use the task texts' template variables ({{domain}}, {{user1}},
// {{password1}}, {{mailIp}}, {{partnerIp}}, {{subnet}}, …): each environment has its own values.

export type Machine = "mail" | "partner";

/** A key word a message or hint must contain: one text for both languages, or one each. */
export type Word = string | { de: string; en: string };

export interface Expectation {
  /** Step id (unique in the course). */
  step: string;
  /** A check of that step; omitted: the step as a whole. */
  check?: string;
  verdict: "pass" | "fail";
  /** Words the check's one-line message contains (case-insensitive). */
  message?: Word[];
  /** Words the check's hints contain (all hints together, case-insensitive). */
  hints?: Word[];
  /** Words no hint may contain: the misleading ones this case is about. */
  notHints?: Word[];
}

/** A shell script (bash, as root) the student's action amounts to. */
export interface Action {
  on: Machine;
  run: string;
  /** Its exit status, asserted (default: it must succeed, 0). */
  exit?: number;
  /** Words its output (stdout and stderr) contains: what the student sees in the terminal. */
  says?: string[];
}

export interface Phase {
  /** What the student does, in words (English; docs/lab-cases.md). */
  student: string;
  do: Action[];
  expect: Expectation[];
  /** A further fact to assert on mail (a script that exits 0), with what it shows. */
  also?: { run: string; shows: string };
}

export interface LabCase extends Phase {
  id: string;
  /** The step the case is about. */
  at: string;
  /**
   * "before": every step before `at` is solved (the default); "after": `at` is solved as well.
   * The machines are reset to that state after the case, unless `keep` (the step's solve then
   * carries on from what the case left).
   */
  state?: "before" | "after";
  keep?: boolean;
  /** Where the case comes from: a reported misjudgement, or a variation found when testing. */
  origin: "issue" | "beyond";
  /** Later phases on the same machines (e.g. the fix, and what the checks say then). */
  then?: Phase[];
}

// ---- action builders ----------------------------------------------------------------------------

/** Single-quotes a word for bash. */
export function shq(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

const mail = (run: string): Action => ({ on: "mail", run });
const partner = (run: string): Action => ({ on: "partner", run });

/** `postconf -e` the settings and reload, as the lesson does. */
function postconf(...settings: string[]): Action {
  return mail(`postconf -e ${settings.map(shq).join(" ")} && postfix reload`);
}

/** A command in mail's terminal that fails with `exit` and prints `says` (e.g. a restart systemd refuses). */
function mailFails(run: string, exit: number, says: string[]): Action {
  return { on: "mail", run, exit, says };
}

/** What systemctl prints when Postfix's unit does not start (or reload), as on a Debian 12 server. */
const POSTFIX_JOB_FAILED = ["Job for postfix@-.service failed because the control process exited with error code", 'See "systemctl status postfix@-.service"'];

/** `postconf -e` the settings and restart Postfix. */
function postconfRestart(...settings: string[]): Action {
  return mail(`postconf -e ${settings.map(shq).join(" ")} && systemctl restart postfix`);
}

/** Appends lines to main.cf as an editor would (no postconf to tidy them up), then `then`. */
function appendMainCf(lines: string[], then = "postfix reload"): Action {
  return mail(`printf '%s\\n' ${lines.map(shq).join(" ")} >>/etc/postfix/main.cf && { ${then}; }`);
}

/**
 * A dialogue typed on partner (telnet-like, through nc): each line after a short pause, so the
 * server's answers come in between; the output is the server's side.
 */
function typed(port: number, lines: string[], { pause = 0.25, end = 0.6, host = "mail" } = {}): string {
  // printf %b: a line may hold \r\n itself (a mail's header, empty line and body in one go).
  const body = lines.map((l) => `sleep ${pause}; printf '%b\\r\\n' ${shq(l.replace(/\r\n/g, "\\r\\n"))}`).join("; ");
  if (host === "localhost") {
    // mail has no nc: bash's /dev/tcp, with what the server says copied out meanwhile.
    return `exec 3<>/dev/tcp/127.0.0.1/${port} && { timeout 10 cat <&3 & { sleep 0.4; ${body}; sleep ${end}; } >&3; wait; }`;
  }
  return `{ sleep 0.4; ${body}; sleep ${end}; } | nc -w 5 ${host} ${port}`;
}

/** An SMTP dialogue from partner to mail's port 25. */
function partnerSmtp(lines: string[]): Action {
  return partner(typed(25, lines));
}

/**
 * The lesson's smtptest session on partner (STARTTLS with tls, AUTH as user1), a mail to user2.
 * quit: false leaves the session open after the mail (for 15 s, in the background), as a student
 * who has not typed QUIT yet.
 */
function smtptest({ tls = true, password = "{{password1}}", quit = true } = {}): Action {
  const dialogue = [
    "MAIL FROM:<{{user1}}@{{domain}}>",
    "RCPT TO:<{{user2}}@{{domain}}>",
    "DATA",
    "Subject: smtptest\r\n\r\nHallo {{user2}}!\r\n.",
    ...(quit ? ["QUIT"] : []),
  ];
  const body = dialogue.map((l) => `printf '%b\\r\\n' ${shq(l.replace(/\r\n/g, "\\r\\n"))}; sleep 0.4`).join("; ");
  const session = `{ sleep 1.5; ${body};${quit ? "" : " sleep 15;"} } | timeout 30 smtptest ${tls ? `-t ''` : ""} -a {{user1}} -u {{user1}} -w ${shq(password)} mail`;
  return partner(quit ? `${session} || true` : `(${session}) </dev/null >/dev/null 2>&1 &`);
}

/** Waits on mail until a delivery line for the user appears in mail.log (local delivery takes a moment). */
function waitDelivered(user: string): Action {
  return mail(`for i in $(seq 60); do grep -q "to=<${user}@.*status=sent" /var/log/mail.log && exit 0; sleep 0.25; done; echo "no delivery to ${user}" >&2; exit 1`);
}

/** Waits on mail until Dovecot logged the end of a session from partner. */
const waitDovecotLogout = mail(
  `for i in $(seq 40); do grep -qE 'dovecot: (imap|pop3)\\(.*Disconnected' /var/log/mail.log && exit 0; sleep 0.25; done; exit 1`,
);

/** A mail to user1 typed on partner with telnet, as Lab 12.1 step 4 asks. */
const TELNET_MAIL = [
  "HELO partner",
  "MAIL FROM:<{{user2}}@{{domain}}>",
  "RCPT TO:<{{user1}}@{{domain}}>",
  "DATA",
  "Subject: Hallo von partner\r\n\r\nDas ist meine erste Mail von aussen.\r\n.",
  "QUIT",
];
function telnetMail(lines = TELNET_MAIL): Action {
  return partner(typed(25, lines));
}

/** Sets a Dovecot setting in a conf.d file (replacing an active or commented line), then reloads. */
function dovecotSet(file: string, name: string, value: string, then = "systemctl restart dovecot"): Action {
  const path = `/etc/dovecot/conf.d/${file}`;
  return mail(
    `if grep -qE '^\\s*#?\\s*${name}\\s*=' ${path}; then sed -i -E 's|^\\s*#?\\s*${name}\\s*=.*|${name} = ${value}|' ${path}; else echo '${name} = ${value}' >>${path}; fi && { ${then}; }`,
  );
}

const MASTER = "/etc/dovecot/conf.d/10-master.conf";
/**
 * Puts a unix_listener block (lines) where Debian's 10-master.conf has its commented sample for
 * Postfix ("#unix_listener /var/spool/postfix/private/auth { #  mode = 0666 #}"), then `then`.
 */
function listener(block: string[], then = "systemctl restart dovecot"): Action {
  const text = block.map((l) => `  ${l}`).join("\\n");
  return mail(
    `perl -0pi -e 's|[ \\t]*#unix_listener /var/spool/postfix/private/auth \\{\\n[ \\t]*#[ \\t]*mode = 0666\\n[ \\t]*#\\}|${text}|' ${MASTER} && ` +
      `grep -q '^  ${block[0]}' ${MASTER} && { ${then}; }`,
  );
}

const OPEN_RELAY: Word = { de: "offenes relay", en: "open relay" };
const PASSWORDS: Word = { de: "Passwörter:", en: "Passwords:" };

/** No "throttling" in mail.log: the gate explained the error before any probe could crash smtpd. */
const NOT_THROTTLED = { run: "! grep -q 'bad command startup -- throttling' /var/log/mail.log", shows: "the checks did not crash smtpd (no throttling in mail.log)" };

// ---- the cases ------------------------------------------------------------------------------------

export const LAB_CASES: LabCase[] = [
  // Lab 12.1, step 1: Open Postfix to the network
  {
    id: "fresh-loopback-only",
    at: "inet-interfaces",
    origin: "beyond",
    student: "asks for a check before changing anything (inet_interfaces = loopback-only)",
    do: [],
    expect: [{ step: "inet-interfaces", check: "smtp-banner", verdict: "fail", message: ["port 25"], hints: ["loopback-only", "inet_interfaces = all"] }],
  },
  {
    id: "inet-reload-only",
    at: "inet-interfaces",
    origin: "beyond",
    student: "sets inet_interfaces = all but runs only postfix reload",
    do: [postconf("inet_interfaces = all")],
    expect: [{ step: "inet-interfaces", check: "smtp-banner", verdict: "fail", hints: ["systemctl restart postfix", { de: "reload genügt nicht", en: "reload is not enough" }] }],
  },
  {
    id: "inet-wrong-service",
    at: "inet-interfaces",
    origin: "beyond",
    student: "sets inet_interfaces = all and restarts the wrong service (systemctl restart rsyslog)",
    do: [mail("postconf -e 'inet_interfaces = all' && systemctl restart rsyslog")],
    expect: [{ step: "inet-interfaces", check: "smtp-banner", verdict: "fail", hints: ["systemctl restart postfix", { de: "anderen Dienstes", en: "another service" }] }],
  },
  {
    id: "inet-one-address",
    at: "inet-interfaces",
    origin: "beyond",
    student: "sets inet_interfaces to mail's one address ({{mailIp}}) and restarts",
    do: [postconfRestart("inet_interfaces = {{mailIp}}")],
    expect: [{ step: "inet-interfaces", verdict: "pass" }],
  },
  {
    id: "inet-ipv4-only",
    at: "inet-interfaces",
    origin: "beyond",
    student: "sets inet_interfaces = all and inet_protocols = ipv4, restarts",
    do: [postconfRestart("inet_interfaces = all", "inet_protocols = ipv4")],
    expect: [{ step: "inet-interfaces", verdict: "pass" }],
  },
  {
    id: "inet-ipv6-only",
    at: "inet-interfaces",
    origin: "beyond",
    student: "sets inet_interfaces = all but inet_protocols = ipv6, restarts",
    do: [mailFails("postconf -e 'inet_interfaces = all' 'inet_protocols = ipv6' && systemctl restart postfix", 1, POSTFIX_JOB_FAILED)],
    expect: [{ step: "inet-interfaces", check: "smtp-banner", verdict: "fail", hints: ["inet_protocols = ipv6", "inet_protocols = all"] }],
  },
  {
    id: "inet-foreign-address",
    at: "inet-interfaces",
    origin: "beyond",
    student: "sets inet_interfaces to an address mail does not have (10.9.9.9) and restarts it with service postfix restart",
    do: [mailFails("postconf -e 'inet_interfaces = 10.9.9.9'; service postfix restart", 1, POSTFIX_JOB_FAILED)],
    expect: [
      {
        step: "inet-interfaces",
        check: "smtp-banner",
        verdict: "fail",
        hints: ["no local interface found for 10.9.9.9", "{{mailIp}}", "systemctl restart postfix"],
        notHints: [{ de: "genügt nicht", en: "is not enough" }],
      },
    ],
  },
  {
    id: "inet-typo-value",
    at: "inet-interfaces",
    origin: "beyond",
    student: "mistypes the value (inet_interfaces = alll) and restarts",
    do: [mail("postconf -e 'inet_interfaces = alll'; systemctl restart postfix; true")],
    expect: [{ step: "inet-interfaces", check: "smtp-banner", verdict: "fail", hints: ["host not found: alll", "inet_interfaces = all"] }],
  },
  {
    id: "inet-typo-name",
    at: "inet-interfaces",
    origin: "beyond",
    student: "misspells the parameter (inet_interface = all, the s missing) in main.cf and restarts",
    do: [appendMainCf(["inet_interface = all"], "systemctl restart postfix")],
    expect: [{ step: "inet-interfaces", check: "smtp-banner", verdict: "fail", hints: ["unused parameter: inet_interface=all", { de: "Tippfehler", en: "typo" }, "loopback-only"] }],
  },
  {
    id: "inet-wrong-file-proto",
    at: "inet-interfaces",
    origin: "beyond",
    student: "edits /etc/postfix/main.cf.proto instead of main.cf and restarts",
    do: [mail("printf 'inet_interfaces = all\\n' >>/etc/postfix/main.cf.proto && systemctl restart postfix")],
    expect: [{ step: "inet-interfaces", check: "smtp-banner", verdict: "fail", hints: ["/etc/postfix/main.cf.proto", { de: "nur aus /etc/postfix/main.cf", en: "only from /etc/postfix/main.cf" }] }],
  },
  {
    id: "inet-wrong-file-master",
    at: "inet-interfaces",
    origin: "beyond",
    student: "puts inet_interfaces = all into master.cf instead of main.cf and reloads",
    do: [mail("printf 'inet_interfaces = all\\n' >>/etc/postfix/master.cf; postfix reload; true")],
    expect: [{ step: "inet-interfaces", check: "smtp-banner", verdict: "fail", message: ["master.cf"], hints: ["/etc/postfix/master.cf", "bad field count"] }],
  },
  {
    id: "postfix-stopped",
    at: "inet-interfaces",
    origin: "beyond",
    student: "stops Postfix (systemctl stop postfix)",
    do: [mail("systemctl stop postfix")],
    expect: [{ step: "inet-interfaces", check: "smtp-banner", verdict: "fail", message: [{ de: "Postfix läuft nicht", en: "Postfix is not running" }], hints: ["systemctl start postfix"] }],
  },

  // Lab 12.1, step 2: Accept mail for the test domain
  {
    id: "md-step2-test-before-fix",
    at: "mydestination",
    origin: "issue",
    student: "does step 2's test first: RCPT TO:<{{user1}}@{{domain}}> from partner, refused with Relay access denied",
    do: [partnerSmtp(["EHLO partner", "MAIL FROM:<test@partner>", "RCPT TO:<{{user1}}@{{domain}}>", "QUIT"])],
    expect: [
      { step: "mydestination", check: "local-recipients", verdict: "fail", hints: [{ de: "mydestination enthält {{domain}} nicht", en: "mydestination does not contain {{domain}}" }, "Relay access denied"] },
      // That refusal is not step 3's relay test: the own domain is no relay destination.
      { step: "no-open-relay", check: "learner-relay-test", verdict: "fail", hints: [{ de: "zählt nicht", en: "does not count" }, "@{{domain}}"] },
    ],
  },
  {
    id: "md-no-reload",
    at: "mydestination",
    origin: "beyond",
    student: "adds {{domain}} to mydestination in main.cf but forgets postfix reload",
    // (after a pause: Postfix's last start and the edit must be apart to tell them apart)
    do: [mail("sleep 0.5; postconf -e 'mydestination = $myhostname, localhost.localdomain, localhost, {{domain}}'")],
    expect: [{ step: "mydestination", check: "local-recipients", verdict: "fail", hints: [{ de: "nach dem letzten Laden", en: "after Postfix last loaded" }, "postfix reload"] }],
  },
  {
    id: "md-only-domain",
    at: "mydestination",
    origin: "issue",
    student: "sets mydestination = {{domain}} only ($myhostname dropped) and reloads",
    do: [postconf("mydestination = {{domain}}")],
    expect: [
      {
        step: "mydestination",
        check: "local-recipients",
        verdict: "fail",
        message: ["{{user1}}@{{mailHost}}"],
        hints: ["$myhostname"],
        notHints: [{ de: "neu geladen", en: "did you reload" }, { de: "mydestination enthält", en: "does not contain" }],
      },
    ],
  },
  {
    id: "md-mydomain",
    at: "mydestination",
    origin: "beyond",
    student: "writes mydestination = $myhostname, $mydomain, localhost ($mydomain is {{domain}}) and reloads",
    do: [postconf("mydestination = $myhostname, $mydomain, localhost")],
    expect: [{ step: "mydestination", verdict: "pass" }],
  },
  {
    id: "md-typo-domain",
    at: "mydestination",
    origin: "beyond",
    student: "adds a misspelt domain (example.tset instead of example.test) and reloads",
    do: [mail("postconf -e \"mydestination = \\$myhostname, localhost, $(echo {{domain}} | sed 's/test$/tset/')\" && postfix reload")],
    expect: [{ step: "mydestination", check: "local-recipients", verdict: "fail", hints: [{ de: "mydestination enthält {{domain}} nicht", en: "mydestination does not contain {{domain}}" }] }],
  },
  {
    id: "md-second-line",
    at: "mydestination",
    origin: "beyond",
    student: "adds a second mydestination line with the domain at the end of main.cf (the old line stays above) and reloads",
    do: [appendMainCf(["mydestination = $myhostname, localhost.localdomain, localhost, {{domain}}"])],
    expect: [{ step: "mydestination", verdict: "pass" }],
  },
  {
    id: "md-overridden-line",
    at: "mydestination",
    origin: "beyond",
    student: "adds the domain to the mydestination line, but an old mydestination line further down overrides it",
    do: [
      mail("sed -i 's/^mydestination = .*/&, {{domain}}/' /etc/postfix/main.cf"),
      appendMainCf(["mydestination = $myhostname, localhost"]),
    ],
    expect: [
      {
        step: "mydestination",
        check: "local-recipients",
        verdict: "fail",
        hints: ["overriding earlier entry", { de: "steht zweimal in main.cf", en: "is in main.cf twice" }, { de: "mydestination enthält {{domain}} nicht", en: "mydestination does not contain {{domain}}" }],
      },
    ],
  },
  {
    id: "md-relay-domains",
    at: "mydestination",
    origin: "beyond",
    student: "puts {{domain}} into relay_domains instead of mydestination",
    do: [postconf("relay_domains = {{domain}}")],
    expect: [
      { step: "mydestination", check: "unknown-recipient", verdict: "fail", message: [{ de: "angenommen statt abgewiesen", en: "accepted instead of rejected" }], hints: ["relay_domains", "mydestination"] },
    ],
  },
  {
    id: "md-missing-equals",
    at: "mydestination",
    origin: "issue",
    student: "forgets the = in main.cf (mydestination $myhostname, localhost, {{domain}}) and reloads",
    do: [mail("sed -i '/^mydestination/d' /etc/postfix/main.cf && echo 'mydestination $myhostname, localhost, {{domain}}' >>/etc/postfix/main.cf && { postfix reload; true; }")],
    expect: [
      {
        step: "mydestination",
        check: "local-recipients",
        verdict: "fail",
        message: ["main.cf", "missing '='"],
        hints: ["missing '=' after attribute name", "mail.log", "postfix reload"],
        notHints: ["inet_interfaces", { de: "zurzeit", en: "currently" }],
      },
    ],
    also: NOT_THROTTLED,
  },
  {
    id: "md-missing-equals-systemctl",
    at: "mydestination",
    origin: "beyond",
    student: "forgets the = in main.cf (mydestination $myhostname, localhost, {{domain}}) and runs systemctl reload postfix",
    do: [
      mailFails(
        "sed -i '/^mydestination/d' /etc/postfix/main.cf && echo 'mydestination $myhostname, localhost, {{domain}}' >>/etc/postfix/main.cf && systemctl reload postfix",
        1,
        POSTFIX_JOB_FAILED,
      ),
      // A failed reload leaves the running Postfix as it was.
      { on: "mail", run: "systemctl is-active postfix", says: ["active"] },
    ],
    expect: [{ step: "mydestination", check: "local-recipients", verdict: "fail", message: ["main.cf", "missing '='"], hints: ["missing '='", "postfix reload"] }],
    then: [
      {
        student: "then runs systemctl restart postfix: the restart fails, Postfix is down, systemctl status postfix says why",
        do: [
          mailFails("systemctl restart postfix", 1, POSTFIX_JOB_FAILED),
          mailFails("systemctl status postfix", 3, ["Active: failed (Result: exit-code)", "missing '=' after attribute name"]),
        ],
        expect: [
          {
            step: "mydestination",
            check: "local-recipients",
            verdict: "fail",
            message: [{ de: "Postfix läuft nicht", en: "Postfix is not running" }],
            hints: ["missing '=' after attribute name", "systemctl start postfix"],
            // (a Postfix that is not running reloads nothing)
            notHints: ["postfix reload"],
          },
        ],
      },
      {
        student: "then writes the = but runs postfix reload, which a stopped Postfix refuses (the Postfix mail system is not running)",
        do: [mail("sed -i 's/^mydestination $myhostname/mydestination = $myhostname/' /etc/postfix/main.cf"), mailFails("postfix reload", 1, [])],
        expect: [
          {
            step: "mydestination",
            check: "local-recipients",
            verdict: "fail",
            message: [{ de: "Postfix läuft nicht", en: "Postfix is not running" }],
            hints: ["systemctl start postfix"],
            notHints: ["postfix reload", "missing '='"],
          },
        ],
      },
      {
        student: "then runs systemctl start postfix",
        do: [mail("systemctl start postfix")],
        expect: [{ step: "mydestination", verdict: "pass" }],
      },
    ],
  },
  {
    id: "md-restrictions-refused",
    at: "mydestination",
    origin: "issue",
    student: "writes restrictions Postfix refuses (smtpd_relay_restrictions empty, no reject_unauth_destination anywhere) and reloads",
    do: [postconf("mydestination = $myhostname, localhost, {{domain}}", "smtpd_relay_restrictions =", "smtpd_recipient_restrictions = permit_mynetworks")],
    expect: [
      {
        step: "mydestination",
        check: "local-recipients",
        verdict: "fail",
        message: ["reject_unauth_destination"],
        hints: ["specify at least one working instance of", "reject_unauth_destination"],
        notHints: ["inet_interfaces", { de: "zurzeit", en: "currently" }],
      },
    ],
    also: NOT_THROTTLED,
  },
  {
    id: "md-throttled-reload",
    at: "mydestination",
    origin: "issue",
    student: "runs telnet mail 25 against those restrictions (smtpd crashes, Postfix throttles it), fixes main.cf and runs postfix reload",
    do: [
      postconf("smtpd_relay_restrictions =", "smtpd_recipient_restrictions = permit_mynetworks"),
      partner("{ sleep 2.5; } | nc -w 3 mail 25; true"),
      mail("for i in $(seq 40); do grep -q 'bad command startup -- throttling' /var/log/mail.log && break; sleep 0.25; done"),
      postconf("mydestination = $myhostname, localhost, {{domain}}", "smtpd_relay_restrictions = permit_mynetworks permit_sasl_authenticated defer_unauth_destination"),
    ],
    expect: [
      {
        step: "mydestination",
        check: "local-recipients",
        verdict: "fail",
        message: [{ de: "gedrosselt", en: "throttled" }],
        hints: ["systemctl restart postfix", { de: "postfix reload beendet die Sperre nicht", en: "postfix reload does not end the throttling" }, "specify at least one working instance of"],
      },
    ],
    then: [
      {
        student: "then runs systemctl restart postfix",
        do: [mail("systemctl restart postfix")],
        expect: [{ step: "mydestination", verdict: "pass" }],
      },
    ],
  },
  {
    id: "md-restriction-typo",
    at: "mydestination",
    origin: "beyond",
    student: "misspells a restriction (smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destinaton) and reloads",
    do: [postconf("mydestination = $myhostname, localhost, {{domain}}", "smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destinaton")],
    expect: [
      {
        step: "mydestination",
        check: "local-recipients",
        verdict: "fail",
        hints: ["Server configuration error", 'unknown smtpd restriction: "reject_unauth_destinaton"'],
        notHints: [{ de: "mydestination enthält", en: "does not contain" }],
      },
    ],
  },
  {
    id: "md-virtual-no-postmap",
    at: "mydestination",
    origin: "beyond",
    student: "adds virtual_alias_maps = hash:/etc/postfix/virtual (VIRTUAL_README), writes the file, forgets postmap",
    do: [
      mail("echo 'info@{{domain}} {{user1}}' >/etc/postfix/virtual"),
      postconf("mydestination = $myhostname, localhost, {{domain}}", "virtual_alias_maps = hash:/etc/postfix/virtual"),
    ],
    expect: [{ step: "mydestination", check: "local-recipients", verdict: "fail", hints: ["Temporary lookup failure", "postmap /etc/postfix/virtual"] }],
    then: [
      {
        student: "then runs postmap /etc/postfix/virtual and postfix reload",
        do: [mail("postmap /etc/postfix/virtual && postfix reload")],
        expect: [{ step: "mydestination", verdict: "pass" }],
      },
    ],
  },
  {
    id: "md-local-recipient-maps-empty",
    at: "mydestination",
    origin: "beyond",
    student: "sets local_recipient_maps = (empty) along with the domain",
    do: [postconf("mydestination = $myhostname, localhost, {{domain}}", "local_recipient_maps =")],
    expect: [{ step: "mydestination", check: "unknown-recipient", verdict: "fail", hints: ["local_recipient_maps"] }],
  },
  {
    id: "md-hardened",
    at: "mydestination",
    origin: "beyond",
    student:
      "adds the domain and hardens Postfix: smtpd_helo_required, disable_vrfy_command, reject_non_fqdn_sender, reject_unknown_sender_domain, TLS logging and Received header",
    do: [
      postconf(
        "mydestination = $myhostname, localhost, {{domain}}",
        "smtpd_helo_required = yes",
        "disable_vrfy_command = yes",
        "smtpd_sender_restrictions = reject_non_fqdn_sender, reject_unknown_sender_domain",
        "smtpd_tls_loglevel = 1",
        "smtpd_tls_received_header = yes",
      ),
    ],
    expect: [{ step: "mydestination", verdict: "pass" }, { step: "inet-interfaces", verdict: "pass" }],
  },

  // Lab 12.1, step 3: Not an open relay
  {
    id: "relay-partner-32",
    at: "no-open-relay",
    origin: "beyond",
    student: "adds partner's address ({{partnerIp}}/32) to mynetworks",
    do: [postconf("mynetworks = 127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128 {{partnerIp}}/32")],
    expect: [
      // The checks' probe is not partner: it still sees "Relay access denied". Postfix's own view decides.
      { step: "no-open-relay", check: "relay-denied", verdict: "pass" },
      {
        step: "no-open-relay",
        check: "partner-not-trusted",
        verdict: "fail",
        message: [{ de: "offenes relay für partner", en: "open relay for partner" }],
        hints: ["{{partnerIp}}/32", { de: "niemals fremde Adressen", en: "never add foreign addresses" }],
      },
    ],
  },
  {
    id: "relay-lab-subnet",
    at: "no-open-relay",
    origin: "beyond",
    student: "adds the lab network ({{subnet}}) to mynetworks",
    do: [postconf("mynetworks = 127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128 {{subnet}}")],
    expect: [
      { step: "no-open-relay", check: "relay-denied", verdict: "fail", message: [OPEN_RELAY], hints: ["{{subnet}}", { de: "niemals fremde Adressen", en: "never add foreign addresses" }] },
      { step: "no-open-relay", check: "partner-not-trusted", verdict: "fail", hints: ["{{subnet}}"] },
    ],
  },
  {
    id: "relay-everyone",
    at: "no-open-relay",
    origin: "beyond",
    student: "sets mynetworks = 0.0.0.0/0",
    do: [postconf("mynetworks = 0.0.0.0/0")],
    expect: [
      { step: "no-open-relay", check: "relay-denied", verdict: "fail", message: [OPEN_RELAY], hints: ["0.0.0.0/0", { de: "ganzen Internet", en: "whole Internet" }] },
    ],
  },
  {
    id: "relay-name-partner",
    at: "no-open-relay",
    origin: "beyond",
    student: "adds the name partner to mynetworks",
    do: [postconf("mynetworks = 127.0.0.0/8 [::1]/128 partner")],
    expect: [{ step: "no-open-relay", check: "partner-not-trusted", verdict: "fail", message: [{ de: "offenes relay für partner", en: "open relay for partner" }], hints: ["partner", { de: "niemals fremde Adressen", en: "never add foreign addresses" }] }],
  },
  {
    id: "relay-style-subnet",
    at: "no-open-relay",
    origin: "beyond",
    student: "removes the mynetworks line and sets mynetworks_style = subnet",
    do: [mail("postconf -X mynetworks && postconf -e 'mynetworks_style = subnet' && postfix reload")],
    expect: [{ step: "no-open-relay", check: "relay-denied", verdict: "fail", message: [OPEN_RELAY], hints: ["mynetworks_style = subnet"] }],
  },
  {
    id: "relay-permit-first",
    at: "no-open-relay",
    origin: "beyond",
    student: "writes smtpd_relay_restrictions = permit_mynetworks, permit, reject_unauth_destination",
    do: [postconf("smtpd_relay_restrictions = permit_mynetworks, permit, reject_unauth_destination")],
    // Postfix ignores what follows "permit": no relay protection is left, and smtpd refuses to start.
    expect: [
      { step: "no-open-relay", check: "relay-denied", verdict: "fail", message: ["reject_unauth_destination"], hints: [{ de: "ignoriert Postfix", en: "Postfix ignores what follows permit" }] },
    ],
    also: NOT_THROTTLED,
  },
  {
    id: "relay-test-foreign",
    at: "no-open-relay",
    origin: "issue",
    student: "tries to relay from partner as the task says: RCPT TO:<jemand@anderswo.example>",
    do: [partnerSmtp(["EHLO partner", "MAIL FROM:<test@partner>", "RCPT TO:<jemand@anderswo.example>", "QUIT"])],
    expect: [{ step: "no-open-relay", verdict: "pass" }],
  },
  {
    id: "relay-test-own-host",
    at: "no-open-relay",
    origin: "issue",
    student: "'tests relaying' with recipients of the own server: {{user1}}@{{mailHost}} and {{user1}}@localhost (accepted: local)",
    do: [partnerSmtp(["EHLO partner", "MAIL FROM:<test@partner>", "RCPT TO:<{{user1}}@{{mailHost}}>", "RCPT TO:<{{user1}}@localhost>", "RSET", "QUIT"])],
    expect: [{ step: "no-open-relay", check: "learner-relay-test", verdict: "fail", message: [{ de: "fremde Domain", en: "foreign domain" }], hints: ["RCPT TO:<"] }],
  },
  {
    id: "relay-test-hardened-sender",
    at: "no-open-relay",
    origin: "beyond",
    student: "has reject_non_fqdn_sender on, so the task's MAIL FROM:<test@partner> is refused before any relay decision",
    do: [
      postconf("smtpd_sender_restrictions = reject_non_fqdn_sender"),
      partnerSmtp(["EHLO partner", "MAIL FROM:<test@partner>", "RCPT TO:<jemand@anderswo.example>", "QUIT"]),
    ],
    expect: [
      { step: "no-open-relay", check: "learner-relay-test", verdict: "fail", hints: ["need fully-qualified address", { de: "anderen Grund", en: "another reason" }] },
      { step: "no-open-relay", check: "relay-denied", verdict: "pass" },
    ],
  },

  // Lab 12.1, step 4: Send a mail with telnet from partner
  {
    id: "telnet-no-dot",
    at: "telnet-mail",
    origin: "beyond",
    student: "types the mail with telnet but closes the connection without the final dot line",
    do: [telnetMail(["HELO partner", "MAIL FROM:<{{user2}}@{{domain}}>", "RCPT TO:<{{user1}}@{{domain}}>", "DATA", "Subject: Test\r\n\r\nText"])],
    expect: [{ step: "telnet-mail", verdict: "fail", hints: ["lost connection after DATA", { de: "nur einen Punkt", en: "only a dot" }] }],
  },
  {
    id: "telnet-unknown-user",
    at: "telnet-mail",
    origin: "beyond",
    student: "sends to a user that does not exist (niemand@{{domain}})",
    do: [telnetMail(["HELO partner", "MAIL FROM:<{{user2}}@{{domain}}>", "RCPT TO:<niemand@{{domain}}>", "QUIT"])],
    expect: [{ step: "telnet-mail", verdict: "fail", hints: ["User unknown"] }],
  },
  {
    id: "telnet-from-mail",
    at: "telnet-mail",
    origin: "beyond",
    student: "sends the mail on mail itself (telnet localhost 25) instead of from partner",
    do: [mail(typed(25, TELNET_MAIL, { host: "localhost" })), waitDelivered("{{user1}}")],
    expect: [{ step: "telnet-mail", verdict: "fail", hints: [{ de: "auf mail selbst", en: "on mail itself" }, "partner"] }],
  },
  {
    id: "telnet-old-reject-not-repeated",
    at: "telnet-mail",
    origin: "issue",
    student: "got Relay access denied in step 2 (before fixing mydestination) and now, in step 4, asks what to do",
    do: [
      mail("cp /etc/postfix/main.cf /root/main.cf.fixed && postconf -e 'mydestination = $myhostname, localhost' && postfix reload"),
      partnerSmtp(["EHLO partner", "MAIL FROM:<test@partner>", "RCPT TO:<{{user1}}@{{domain}}>", "QUIT"]),
      // (right after it: what counts is the app's look in between, not a guess of seconds)
      mail("cp /root/main.cf.fixed /etc/postfix/main.cf && postfix reload"),
    ],
    expect: [{ step: "telnet-mail", verdict: "fail", hints: ["telnet mail 25"], notHints: ["Relay access denied"] }],
  },
  {
    id: "telnet-postfix-down",
    at: "telnet-mail",
    origin: "beyond",
    student: "adds a line without = to main.cf and restarts (Postfix stays down), then tries telnet mail 25 from partner",
    do: [
      mailFails("echo 'mynetworks 127.0.0.0/8' >>/etc/postfix/main.cf && systemctl restart postfix", 1, POSTFIX_JOB_FAILED),
      { on: "partner", run: "telnet mail 25 </dev/null", exit: 1, says: ["Connection refused"] },
    ],
    expect: [{ step: "telnet-mail", verdict: "fail", hints: [{ de: "Postfix läuft nicht", en: "Postfix is not running" }, "systemctl start postfix"] }],
  },
  {
    id: "telnet-maildir",
    at: "telnet-mail",
    origin: "beyond",
    student: "delivers into Maildir (home_mailbox = Maildir/) and sends the mail",
    do: [postconf("home_mailbox = Maildir/"), telnetMail(), waitDelivered("{{user1}}")],
    expect: [{ step: "telnet-mail", verdict: "pass" }],
  },
  {
    id: "telnet-read-log-rotated",
    at: "telnet-mail",
    origin: "beyond",
    student: "sends the mail, reads it with mail as {{user1}} (it moves to ~/mbox), and mail.log is rotated away",
    do: [
      telnetMail(),
      waitDelivered("{{user1}}"),
      mail("su - {{user1}} -c \"printf 'p\\nq\\n' | mail -N\" >/dev/null 2>&1; test -s /home/{{user1}}/mbox && mv /var/log/mail.log /var/log/mail.log.2 && : >/var/log/mail.log && chown root:adm /var/log/mail.log && systemctl restart rsyslog"),
    ],
    expect: [{ step: "telnet-mail", verdict: "pass", message: [{ de: "im Postfach", en: "in the mailbox" }] }],
  },

  // Lab 12.2, step 1: Install Dovecot
  {
    id: "dovecot-not-installed",
    at: "install-dovecot",
    origin: "beyond",
    student: "starts Lab 12.2 without installing anything",
    do: [],
    expect: [{ step: "install-dovecot", check: "imap-starttls", verdict: "fail", hints: ["apt install dovecot-imapd dovecot-pop3d"] }],
  },
  {
    id: "dovecot-imapd-only",
    at: "install-dovecot",
    origin: "beyond",
    keep: true,
    student: "installs only dovecot-imapd",
    do: [mail("DEBIAN_FRONTEND=noninteractive apt-get install -y -q dovecot-imapd >/dev/null")],
    expect: [
      { step: "install-dovecot", check: "imap-starttls", verdict: "pass" },
      { step: "install-dovecot", check: "pop3-stls", verdict: "fail", hints: ["dovecot-pop3d"] },
    ],
  },
  {
    id: "dovecot-plaintext-allowed",
    at: "install-dovecot",
    state: "after",
    origin: "issue",
    student: "sets disable_plaintext_auth = no (10-auth.conf) and reloads Dovecot",
    do: [dovecotSet("10-auth.conf", "disable_plaintext_auth", "no", "doveadm reload")],
    expect: [{ step: "install-dovecot", check: "no-plaintext-login", verdict: "fail", hints: ["disable_plaintext_auth = yes"] }],
  },
  {
    id: "dovecot-stopped",
    at: "install-dovecot",
    state: "after",
    origin: "beyond",
    student: "stops Dovecot (systemctl stop dovecot)",
    do: [mail("systemctl stop dovecot")],
    expect: [{ step: "install-dovecot", check: "imap-starttls", verdict: "fail", hints: ["systemctl start dovecot"] }],
  },
  {
    id: "dovecot-ssl-no",
    at: "install-dovecot",
    state: "after",
    origin: "beyond",
    student: "sets ssl = no (10-ssl.conf) and restarts Dovecot",
    do: [dovecotSet("10-ssl.conf", "ssl", "no")],
    expect: [{ step: "install-dovecot", check: "imap-starttls", verdict: "fail", message: ["STARTTLS"], hints: ["ssl = yes"] }],
  },
  {
    id: "dovecot-config-typo",
    at: "install-dovecot",
    state: "after",
    origin: "beyond",
    student: "leaves out the = in 10-auth.conf (disable_plaintext_auth yes) and restarts Dovecot",
    do: [
      mailFails("echo 'disable_plaintext_auth yes' >>/etc/dovecot/conf.d/10-auth.conf; systemctl restart dovecot", 1, [
        "Job for dovecot.service failed because the control process exited with error code",
      ]),
      mailFails("systemctl status dovecot", 3, ["Active: failed (Result: exit-code)", "10-auth.conf"]),
    ],
    expect: [{ step: "install-dovecot", check: "imap-starttls", verdict: "fail", hints: ["10-auth.conf", "systemctl restart dovecot"] }],
  },
  {
    id: "dovecot-imap-only-protocol",
    at: "install-dovecot",
    state: "after",
    origin: "beyond",
    student: "writes protocols = imap into dovecot.conf and restarts Dovecot",
    do: [mail("echo 'protocols = imap' >>/etc/dovecot/dovecot.conf && systemctl restart dovecot")],
    expect: [{ step: "install-dovecot", check: "pop3-stls", verdict: "fail", hints: ["protocols"] }],
  },
  {
    id: "dovecot-auth-login",
    at: "install-dovecot",
    state: "after",
    origin: "beyond",
    student: "adds LOGIN: auth_mechanisms = plain login",
    do: [dovecotSet("10-auth.conf", "auth_mechanisms", "plain login", "doveadm reload")],
    expect: [{ step: "install-dovecot", verdict: "pass" }],
  },

  {
    id: "dovecot-hardened",
    at: "install-dovecot",
    state: "after",
    origin: "beyond",
    student: "hardens Dovecot's TLS: ssl_min_protocol = TLSv1.3, ssl_prefer_server_ciphers = yes",
    do: [mail("printf '%s\\n' 'ssl_min_protocol = TLSv1.3' 'ssl_prefer_server_ciphers = yes' >>/etc/dovecot/conf.d/10-ssl.conf && systemctl restart dovecot")],
    expect: [{ step: "install-dovecot", verdict: "pass" }],
  },

  // Lab 12.2, step 2: Log in by IMAP and POP3 and read the mail
  {
    id: "login-imap-without-tls",
    at: "imap-pop3-login",
    origin: "issue",
    student: "runs imtest without -t (no STARTTLS); imtest says Authentication failed. no mechanism available",
    do: [partner("printf 'a LOGOUT\\r\\n' | timeout 15 imtest -a {{user1}} -w {{password1}} mail; true")],
    expect: [{ step: "imap-pop3-login", check: "learner-imap", verdict: "fail", hints: ["STARTTLS", "no mechanism available", 'imtest -t ""'], notHints: [PASSWORDS] }],
  },
  {
    id: "login-imap-plaintext-telnet",
    at: "imap-pop3-login",
    origin: "issue",
    student: "logs in by telnet mail 143 with a LOGIN {{user1}} <password> (no TLS)",
    do: [partner(typed(143, ["a LOGIN {{user1}} {{password1}}", "b LOGOUT"]))],
    expect: [
      {
        step: "imap-pop3-login",
        check: "learner-imap",
        verdict: "fail",
        hints: [{ de: "ohne TLS", en: "without TLS" }, { de: "am Passwort liegt es nicht", en: "it is not the password" }],
        notHints: [PASSWORDS],
      },
    ],
  },
  {
    id: "login-pop3-plaintext-telnet",
    at: "imap-pop3-login",
    origin: "issue",
    student: "logs in by telnet mail 110 with USER/PASS (no TLS)",
    do: [partner(typed(110, ["USER {{user1}}", "PASS {{password1}}", "QUIT"]))],
    expect: [{ step: "imap-pop3-login", check: "learner-pop3", verdict: "fail", hints: [{ de: "ohne TLS", en: "without TLS" }, "pop3test -t"], notHints: [PASSWORDS] }],
  },
  {
    id: "login-dovecot-down",
    at: "imap-pop3-login",
    origin: "beyond",
    student: "leaves out the = in 10-auth.conf and restarts Dovecot (it stays down), then tries imtest -t \"\" from partner",
    do: [
      mailFails("echo 'disable_plaintext_auth yes' >>/etc/dovecot/conf.d/10-auth.conf; systemctl restart dovecot", 1, ["Job for dovecot.service failed"]),
      { on: "partner", run: "timeout 15 imtest -t '' -a {{user1}} -w {{password1}} mail </dev/null", exit: 1, says: ["Connection refused"] },
    ],
    expect: [{ step: "imap-pop3-login", check: "learner-imap", verdict: "fail", hints: [{ de: "Dovecot läuft nicht", en: "Dovecot is not running" }, "systemctl start dovecot"] }],
  },
  {
    id: "login-wrong-password",
    at: "imap-pop3-login",
    origin: "beyond",
    student: "uses imtest -t \"\" with a wrong password",
    do: [partner("printf 'a LOGOUT\\r\\n' | timeout 15 imtest -t '' -a {{user1}} -w wrong-password mail; true")],
    expect: [{ step: "imap-pop3-login", check: "learner-imap", verdict: "fail", hints: ["auth failed", PASSWORDS, "{{password1}}"] }],
  },
  {
    id: "login-imap-only",
    at: "imap-pop3-login",
    origin: "issue",
    student: "logs in and reads the mail by IMAP over TLS, but never tries POP3",
    do: [partner("printf 'a SELECT INBOX\\r\\nb FETCH 1 BODY[]\\r\\nc LOGOUT\\r\\n' | timeout 15 imtest -t '' -a {{user1}} -w {{password1}} mail"), waitDovecotLogout],
    expect: [
      { step: "imap-pop3-login", check: "learner-imap", verdict: "pass" },
      { step: "imap-pop3-login", check: "learner-pop3", verdict: "fail", message: ["POP3"], hints: ["pop3test -t"] },
    ],
  },
  {
    id: "login-no-read",
    at: "imap-pop3-login",
    origin: "issue",
    student: "logs in over TLS by IMAP and POP3 but reads nothing (LOGOUT / QUIT right away)",
    do: [
      partner("printf 'a LOGOUT\\r\\n' | timeout 15 imtest -t '' -a {{user1}} -w {{password1}} mail"),
      partner("printf 'QUIT\\r\\n' | timeout 15 pop3test -t '' -a {{user1}} -w {{password1}} mail"),
      waitDovecotLogout,
    ],
    expect: [
      { step: "imap-pop3-login", check: "learner-imap", verdict: "fail", hints: [{ de: "keine Mail gelesen", en: "read no mail" }, "FETCH 1 BODY[]"] },
      { step: "imap-pop3-login", check: "learner-pop3", verdict: "fail", hints: [{ de: "keine Mail gelesen", en: "read no mail" }, "RETR 1"] },
    ],
  },
  {
    id: "login-plaintext-allowed",
    at: "imap-pop3-login",
    origin: "issue",
    student: "sets disable_plaintext_auth = no, then logs in without TLS (imtest, pop3test without -t) and reads the mail",
    do: [
      dovecotSet("10-auth.conf", "disable_plaintext_auth", "no", "doveadm reload"),
      partner("printf 'a SELECT INBOX\\r\\nb FETCH 1 BODY[]\\r\\nc LOGOUT\\r\\n' | timeout 15 imtest -m login -a {{user1}} -w {{password1}} mail"),
      partner("printf 'LIST\\r\\nRETR 1\\r\\nQUIT\\r\\n' | timeout 15 pop3test -m user -a {{user1}} -w {{password1}} mail"),
      waitDovecotLogout,
    ],
    expect: [
      { step: "imap-pop3-login", check: "learner-imap", verdict: "fail", hints: [{ de: "ohne TLS angemeldet", en: "without TLS" }, "disable_plaintext_auth"] },
      { step: "imap-pop3-login", check: "learner-pop3", verdict: "fail", hints: [{ de: "ohne TLS angemeldet", en: "without TLS" }, "disable_plaintext_auth"] },
      { step: "install-dovecot", check: "no-plaintext-login", verdict: "fail", hints: ["disable_plaintext_auth = yes"] },
    ],
  },
  {
    id: "login-openssl-no-logout",
    at: "imap-pop3-login",
    origin: "beyond",
    student: "uses openssl s_client -starttls imap / pop3 (as the slide offers), reads the mail and drops the connection without LOGOUT / QUIT",
    do: [
      partner(
        "{ sleep 1; printf 'a LOGIN {{user1}} {{password1}}\\r\\n'; sleep 0.5; printf 'b SELECT INBOX\\r\\n'; sleep 0.3; printf 'c FETCH 1 BODY[]\\r\\n'; sleep 0.5; } | timeout 15 openssl s_client -quiet -no_ign_eof -nocommands -starttls imap -connect mail:143 >/dev/null 2>&1; true",
      ),
      partner(
        "{ sleep 1; printf 'USER {{user1}}\\r\\n'; sleep 0.3; printf 'PASS {{password1}}\\r\\n'; sleep 0.5; printf 'RETR 1\\r\\n'; sleep 0.5; } | timeout 15 openssl s_client -quiet -no_ign_eof -nocommands -starttls pop3 -connect mail:110 >/dev/null 2>&1; true",
      ),
      mail("for i in $(seq 40); do [ $(grep -cE 'dovecot: (imap|pop3)\\(.*Disconnected' /var/log/mail.log) -ge 2 ] && exit 0; sleep 0.25; done; exit 1"),
    ],
    expect: [{ step: "imap-pop3-login", verdict: "pass" }],
  },

  // Lab 12.2, step 3: SMTP authentication through Dovecot SASL
  {
    id: "auth-nothing-yet",
    at: "smtp-auth",
    origin: "beyond",
    student: "asks for a check before configuring SMTP AUTH",
    do: [],
    expect: [{ step: "smtp-auth", check: "auth-only-with-tls", verdict: "fail", hints: ["smtpd_sasl_auth_enable = yes", "smtpd_sasl_type = dovecot"] }],
  },
  {
    id: "auth-socket-missing",
    at: "smtp-auth",
    origin: "beyond",
    student: "switches SMTP AUTH on in main.cf (as on the slide) but sets up no unix_listener in Dovecot",
    do: [solveMainCf("private/auth")],
    expect: [
      { step: "smtp-auth", check: "auth-socket", verdict: "fail", hints: ["/var/spool/postfix"] },
      { step: "smtp-auth", check: "auth-relay", verdict: "fail", hints: [{ de: "antwortet kein Dovecot", en: "no Dovecot answers" }] },
    ],
    also: NOT_THROTTLED,
  },
  {
    id: "auth-alt-socket-path",
    at: "smtp-auth",
    origin: "issue",
    student: "uses another socket path consistently: unix_listener /var/spool/postfix/private/dovecot-auth and smtpd_sasl_path = private/dovecot-auth",
    do: [
      listener(["unix_listener /var/spool/postfix/private/dovecot-auth {", "  mode = 0600", "  user = postfix", "  group = postfix", "}"]),
      solveMainCf("private/dovecot-auth"),
    ],
    expect: [{ step: "smtp-auth", verdict: "pass" }],
  },
  {
    id: "auth-listener-local-conf",
    at: "smtp-auth",
    origin: "beyond",
    student: "puts the service auth { unix_listener … } block into /etc/dovecot/local.conf instead of 10-master.conf",
    do: [
      mail(
        "printf '%s\\n' 'service auth {' '  unix_listener /var/spool/postfix/private/auth {' '    mode = 0600' '    user = postfix' '    group = postfix' '  }' '}' >/etc/dovecot/local.conf && systemctl restart dovecot",
      ),
      solveMainCf("private/auth"),
    ],
    expect: [{ step: "smtp-auth", verdict: "pass" }],
  },
  {
    id: "auth-debian-sample-listener",
    at: "smtp-auth",
    origin: "issue",
    student: "uncomments Debian's sample listener as shipped (mode = 0666, no user: the socket is root's)",
    do: [mail(`sed -i -e 's|^\\(\\s*\\)#unix_listener /var/spool/postfix/private/auth {|\\1unix_listener /var/spool/postfix/private/auth {|' -e 's|^\\(\\s*\\)#  mode = 0666|\\1  mode = 0666|' -e '/unix_listener \\/var\\/spool\\/postfix\\/private\\/auth/,/}/ s|^\\(\\s*\\)#}|\\1}|' ${MASTER} && systemctl restart dovecot`), solveMainCf("private/auth")],
    expect: [{ step: "smtp-auth", verdict: "pass" }],
  },
  {
    id: "auth-listener-root-only",
    at: "smtp-auth",
    origin: "beyond",
    student: "writes the listener with mode = 0600 but without user = postfix (the socket is root's)",
    do: [listener(["unix_listener /var/spool/postfix/private/auth {", "  mode = 0600", "}"]), solveMainCf("private/auth")],
    expect: [{ step: "smtp-auth", check: "auth-relay", verdict: "fail", hints: ["user = postfix"] }],
    also: NOT_THROTTLED,
  },
  {
    id: "auth-dovecot-not-restarted",
    at: "smtp-auth",
    origin: "beyond",
    student: "adds the listener to 10-master.conf but does not restart Dovecot",
    do: [listener(["unix_listener /var/spool/postfix/private/auth {", "  mode = 0600", "  user = postfix", "  group = postfix", "}"], "true"), solveMainCf("private/auth")],
    expect: [
      { step: "smtp-auth", check: "auth-socket", verdict: "fail", hints: ["systemctl restart dovecot"] },
      { step: "smtp-auth", check: "auth-relay", verdict: "fail", hints: ["systemctl restart dovecot"] },
    ],
    also: NOT_THROTTLED,
    then: [{ student: "then runs doveadm reload", do: [mail("doveadm reload && sleep 0.5")], expect: [{ step: "smtp-auth", verdict: "pass" }] }],
  },
  {
    id: "auth-socket-wrong-place",
    at: "smtp-auth",
    origin: "beyond",
    student: "writes the listener as /var/spool/postfix/auth (private/ missing) with smtpd_sasl_path = private/auth",
    do: [listener(["unix_listener /var/spool/postfix/auth {", "  mode = 0600", "  user = postfix", "  group = postfix", "}"]), solveMainCf("private/auth")],
    expect: [{ step: "smtp-auth", check: "auth-socket", verdict: "fail", hints: ["/var/spool/postfix/auth", "/var/spool/postfix/private/auth"] }],
    also: NOT_THROTTLED,
  },
  {
    id: "auth-absolute-path",
    at: "smtp-auth",
    state: "after",
    origin: "beyond",
    student: "writes smtpd_sasl_path as an absolute path (/var/spool/postfix/private/auth): smtpd runs chrooted and finds it only in its first session",
    do: [postconf("smtpd_sasl_path = /var/spool/postfix/private/auth")],
    expect: [
      { step: "smtp-auth", check: "auth-relay", verdict: "fail", message: ["chroot"], hints: ["smtpd_sasl_path = private/auth", "chroot"] },
      { step: "smtp-auth", check: "auth-socket", verdict: "fail", hints: ["smtpd_sasl_path = private/auth"] },
    ],
    also: NOT_THROTTLED,
  },
  {
    id: "auth-slide-multiline",
    at: "smtp-auth",
    origin: "beyond",
    student: "types the slide's lines into main.cf with an editor, restrictions on indented continuation lines",
    do: [
      slideListener(),
      appendMainCf([
        "smtpd_tls_auth_only = yes",
        "smtpd_sasl_auth_enable = yes",
        "smtpd_sasl_type = dovecot",
        "smtpd_sasl_path = private/auth",
        "smtpd_sasl_security_options = noanonymous",
        "smtpd_sasl_authenticated_header = yes",
        "smtpd_recipient_restrictions =",
        "    permit_mynetworks,",
        "    permit_sasl_authenticated,",
        "    reject_unauth_destination",
      ]),
    ],
    expect: [{ step: "smtp-auth", verdict: "pass" }],
  },
  {
    id: "auth-tls-auth-only-no",
    at: "smtp-auth",
    state: "after",
    origin: "beyond",
    student: "leaves smtpd_tls_auth_only = no",
    do: [postconf("smtpd_tls_auth_only = no")],
    expect: [
      { step: "smtp-auth", check: "auth-only-with-tls", verdict: "fail", message: [{ de: "vor STARTTLS", en: "before STARTTLS" }], hints: ["smtpd_tls_auth_only = yes"] },
      { step: "smtp-auth", check: "auth-relay", verdict: "pass" },
    ],
  },
  {
    id: "auth-tls-none",
    at: "smtp-auth",
    state: "after",
    origin: "issue",
    student: "sets smtpd_tls_security_level = none",
    do: [postconf("smtpd_tls_security_level = none")],
    expect: [
      { step: "smtp-auth", check: "auth-only-with-tls", verdict: "fail", message: ["STARTTLS"], hints: ["smtpd_tls_security_level = may"] },
      { step: "smtp-auth", check: "auth-relay", verdict: "fail", hints: ["smtpd_tls_security_level = may"] },
    ],
  },
  {
    id: "auth-header-off",
    at: "smtp-auth",
    state: "after",
    origin: "beyond",
    student: "leaves out smtpd_sasl_authenticated_header = yes",
    do: [postconf("smtpd_sasl_authenticated_header = no")],
    expect: [
      { step: "smtp-auth", check: "authenticated-header", verdict: "fail", hints: ["smtpd_sasl_authenticated_header = yes"] },
      { step: "smtp-auth", check: "auth-relay", verdict: "pass" },
    ],
  },
  {
    id: "auth-type-missing",
    at: "smtp-auth",
    state: "after",
    origin: "beyond",
    student: "forgets smtpd_sasl_type = dovecot (Postfix then asks Cyrus SASL)",
    do: [mail("postconf -X smtpd_sasl_type && postfix reload")],
    expect: [{ step: "smtp-auth", check: "auth-relay", verdict: "fail", hints: ["smtpd_sasl_type = dovecot", "no SASL authentication mechanisms"] }],
    also: NOT_THROTTLED,
  },
  {
    id: "auth-noplaintext",
    at: "smtp-auth",
    state: "after",
    origin: "beyond",
    student: "adds noplaintext: smtpd_sasl_security_options = noanonymous, noplaintext",
    do: [postconf("smtpd_sasl_security_options = noanonymous, noplaintext")],
    expect: [{ step: "smtp-auth", check: "auth-relay", verdict: "fail", hints: ["noplaintext", "smtpd_sasl_security_options = noanonymous"] }],
    also: NOT_THROTTLED,
  },
  {
    id: "auth-no-permit-sasl",
    at: "smtp-auth",
    state: "after",
    origin: "beyond",
    student: "leaves permit_sasl_authenticated out of both restriction lists",
    do: [
      postconf(
        "smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination",
        "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination",
      ),
    ],
    expect: [{ step: "smtp-auth", check: "auth-relay", verdict: "fail", message: [{ de: "nach AUTH abgewiesen", en: "refused after AUTH" }], hints: ["permit_sasl_authenticated"] }],
  },
  {
    id: "auth-open-relay",
    at: "smtp-auth",
    state: "after",
    origin: "beyond",
    student: "configures SMTP AUTH but has mynetworks = 0.0.0.0/0",
    do: [postconf("mynetworks = 0.0.0.0/0")],
    expect: [{ step: "smtp-auth", check: "auth-relay", verdict: "fail", message: [{ de: "ohne Anmeldung wird angenommen", en: "without authentication is accepted" }], hints: ["mynetworks"] }],
  },

  {
    id: "auth-hardened",
    at: "smtp-auth",
    state: "after",
    origin: "beyond",
    student:
      "hardens Postfix further: TLS 1.2 or newer only, high ciphers, smtpd_helo_required, smtpd_client_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unknown_client_hostname",
    do: [
      postconf(
        "smtpd_tls_protocols = >=TLSv1.2",
        "smtpd_tls_mandatory_protocols = >=TLSv1.2",
        "smtpd_tls_ciphers = high",
        "smtpd_helo_required = yes",
        "smtpd_client_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unknown_client_hostname",
      ),
    ],
    expect: [
      { step: "smtp-auth", verdict: "pass" },
      { step: "mydestination", verdict: "pass" },
      { step: "no-open-relay", check: "relay-denied", verdict: "pass" },
    ],
  },

  // Lab 12.2, step 4: Send a mail with smtptest as an authenticated user
  {
    id: "smtptest-without-tls",
    at: "smtptest-mail",
    origin: "issue",
    student: "sets smtpd_tls_auth_only = no and sends with smtptest without -t (AUTH without TLS: ESMTPA)",
    do: [postconf("smtpd_tls_auth_only = no"), smtptest({ tls: false }), waitDelivered("{{user2}}")],
    expect: [
      { step: "smtptest-mail", check: "learner-authenticated-mail", verdict: "fail", hints: ["ESMTPA", "smtptest -t"] },
      { step: "smtptest-mail", check: "learner-authenticated-header", verdict: "fail", hints: ["ESMTPA"] },
    ],
  },
  {
    id: "smtptest-wrong-password",
    at: "smtptest-mail",
    origin: "beyond",
    student: "types a wrong password into smtptest",
    do: [smtptest({ password: "wrong-password" })],
    expect: [{ step: "smtptest-mail", check: "learner-authenticated-mail", verdict: "fail", hints: ["authentication failed", "{{password1}}"] }],
  },
  {
    id: "smtptest-telnet-instead",
    at: "smtptest-mail",
    origin: "beyond",
    student: "sends the mail with telnet again (no authentication)",
    do: [telnetMail(), waitDelivered("{{user1}}")],
    expect: [{ step: "smtptest-mail", check: "learner-authenticated-mail", verdict: "fail", hints: [{ de: "ohne Anmeldung", en: "without authentication" }] }],
  },
  {
    id: "smtptest-header-off",
    at: "smtptest-mail",
    origin: "beyond",
    student: "sends with smtptest while smtpd_sasl_authenticated_header = no",
    do: [postconf("smtpd_sasl_authenticated_header = no"), smtptest(), waitDelivered("{{user2}}")],
    expect: [
      { step: "smtptest-mail", check: "learner-authenticated-mail", verdict: "pass" },
      { step: "smtptest-mail", check: "learner-authenticated-header", verdict: "fail", hints: ["smtpd_sasl_authenticated_header = yes"] },
    ],
  },
  {
    id: "smtptest-maildir",
    at: "smtptest-mail",
    origin: "beyond",
    student: "delivers into Maildir (home_mailbox = Maildir/) and sends with smtptest",
    do: [postconf("home_mailbox = Maildir/"), smtptest(), waitDelivered("{{user2}}")],
    expect: [{ step: "smtptest-mail", verdict: "pass" }],
  },
  {
    id: "smtptest-read-and-deleted",
    at: "smtptest-mail",
    origin: "beyond",
    student: "sends with smtptest, then reads the mail with mail as {{user2}} (it moves to ~/mbox)",
    do: [smtptest(), waitDelivered("{{user2}}"), mail("su - {{user2}} -c \"printf 'p\\nq\\n' | mail -N\" >/dev/null 2>&1; test -s /home/{{user2}}/mbox")],
    expect: [{ step: "smtptest-mail", verdict: "pass" }],
  },
  {
    id: "smtptest-before-quit",
    at: "smtptest-mail",
    origin: "beyond",
    student: "sends with smtptest and is still in the session: the mail is delivered, QUIT not typed yet",
    do: [smtptest({ quit: false }), waitDelivered("{{user2}}")],
    // (TLS is in the delivered mail's Received header, ESMTPSA; smtpd logs starttls=1 only at the end)
    expect: [{ step: "smtptest-mail", verdict: "pass" }],
    also: { run: "! grep -q 'disconnect from partner' /var/log/mail.log", shows: "the session had not ended (no disconnect line in mail.log yet)" },
  },
];

// (function declarations are hoisted: the cases above use these.)

/** The slide's unix_listener block for Postfix, Dovecot restarted. */
function slideListener(): Action {
  return listener(["unix_listener /var/spool/postfix/private/auth {", "  mode = 0600", "  user = postfix", "  group = postfix", "}"]);
}

/** The slide's main.cf lines with the given socket path, then `extra` settings, then postfix reload. */
function solveMainCf(path: string, extra: string[] = []): Action {
  return postconf(
    "smtpd_tls_auth_only = yes",
    "smtpd_sasl_auth_enable = yes",
    "smtpd_sasl_type = dovecot",
    `smtpd_sasl_path = ${path}`,
    "smtpd_sasl_security_options = noanonymous",
    "smtpd_sasl_authenticated_header = yes",
    "smtpd_recipient_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination",
    ...extra,
  );
}
