// Known-wrong configurations must fail the RIGHT check with the RIGHT hint (docs/lab-cases.md), and the
// checks' own traffic must never count as the learner's evidence.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Step, StepResult } from "@/lib/lab-schema";
import { checkStep, describeResult, labOf, solve, startLabEnvironment, type LabEnvironment } from "./testing";
import { loadCourse } from "./load-course";

const course = loadCourse();
const lab1 = labOf(course, "12-1");
const lab2 = labOf(course, "12-2");
const step = (id: string): Step => [...lab1.steps, ...lab2.steps].find((s) => s.id === id)!;
let env: LabEnvironment;

beforeAll(async () => {
  env = await startLabEnvironment(course);
  // Only what the learner configures; none of the "do it yourself" steps.
  for (const s of [...lab1.steps, ...lab2.steps]) if (s.kind === "config") await solve(env, s);
});
afterAll(async () => {
  await env?.destroy();
});

function check(result: StepResult, id: string) {
  const c = result.checks.find((x) => x.id === id);
  if (!c) throw new Error(`no check ${id} in ${result.id}`);
  return c;
}

/** Expects exactly the named checks to fail, each with a hint matching the pattern (de and en). */
function expectFailing(result: StepResult, expected: Record<string, { de: RegExp; en: RegExp }>) {
  for (const [id, hint] of Object.entries(expected)) {
    const c = check(result, id);
    expect(c.ok, `${id} should fail:\n${describeResult(result)}`).toBe(false);
    expect(c.hints!.de.join("\n"), `${id} German hint:\n${describeResult(result)}`).toMatch(hint.de);
    expect(c.hints!.en.join("\n"), `${id} English hint:\n${describeResult(result)}`).toMatch(hint.en);
  }
}

async function postconf(...settings: string[]): Promise<void> {
  await env.sh("mail", `postconf -e ${settings.map((s) => `'${s}'`).join(" ")} && postfix reload && ` +
      `for i in $(seq 60); do exec 3<>/dev/tcp/127.0.0.1/25 && read -r -t 2 l <&3 && [[ $l == 220* ]] && exit 0; exec 3<&-; sleep 1; done; exit 1`,
      120_000,
    );
}

describe("known-wrong configurations fail the right check with the right hint", () => {
  it("all config steps pass to begin with", async () => {
    for (const s of [...lab1.steps, ...lab2.steps].filter((x) => x.kind === "config")) {
      const r = await checkStep(env, s);
      expect(r.status, describeResult(r)).toBe("pass");
    }
  });

  it("open relay: partner's subnet in mynetworks", async () => {
    const original = (await env.sh("mail", "postconf -h mynetworks")).trim();
    await postconf(`mynetworks = ${original} ${env.params.subnet}`);
    try {
      const r = await checkStep(env, step("no-open-relay"));
      expectFailing(r, { "relay-denied": { de: /niemals fremde Adressen/i, en: /never add foreign addresses/i } });
      expect(check(r, "relay-denied").hints!.en.join("\n")).toContain(env.params.subnet);
      expect(check(r, "relay-denied").message.en).toMatch(/open relay/i);
    } finally {
      await postconf(`mynetworks = ${original}`);
    }
    expect(check(await checkStep(env, step("no-open-relay")), "relay-denied").ok).toBe(true);
  });

  it("open relay: 0.0.0.0/0 in mynetworks", async () => {
    const original = (await env.sh("mail", "postconf -h mynetworks")).trim();
    await postconf(`mynetworks = 0.0.0.0/0`);
    try {
      const r = await checkStep(env, step("no-open-relay"));
      expectFailing(r, { "relay-denied": { de: /0\.0\.0\.0\/0.*niemals fremde Adressen/i, en: /0\.0\.0\.0\/0.*never add foreign addresses/i } });
      // 12.2's relay check says the same from the authenticated side.
      const auth = await checkStep(env, step("smtp-auth"));
      expect(check(auth, "auth-relay").ok, describeResult(auth)).toBe(false);
      expect(check(auth, "auth-relay").message.en).toMatch(/without authentication is accepted/);
    } finally {
      await postconf(`mynetworks = ${original}`);
    }
  });

  it("the test domain missing from mydestination", async () => {
    const original = (await env.sh("mail", "postconf -h mydestination")).trim();
    await postconf("mydestination = $myhostname, localhost.localdomain, localhost");
    try {
      const r = await checkStep(env, step("mydestination"));
      const hint = { de: new RegExp(`mydestination enthält ${env.params.domain.replace(/\./g, "\\.")} nicht`), en: new RegExp(`mydestination does not contain ${env.params.domain.replace(/\./g, "\\.")}`) };
      expectFailing(r, { "local-recipients": hint, "unknown-recipient": hint });
      expect(check(r, "local-recipients").hints!.en.join("\n")).toMatch(/Relay access denied/);
    } finally {
      await postconf(`mydestination = ${original}`);
    }
    const recovered = await checkStep(env, step("mydestination"));
    expect(recovered.status, describeResult(recovered)).toBe("pass");
  });

  it("AUTH offered before STARTTLS: smtpd_tls_auth_only = no", async () => {
    await postconf("smtpd_tls_auth_only = no");
    try {
      const r = await checkStep(env, step("smtp-auth"));
      expectFailing(r, { "auth-only-with-tls": { de: /smtpd_tls_auth_only = yes/, en: /smtpd_tls_auth_only = yes/ } });
      expect(check(r, "auth-only-with-tls").message.en).toBe("AUTH is offered before STARTTLS");
      // Only that check: authenticated relaying itself still works.
      expect(check(r, "auth-relay").ok, describeResult(r)).toBe(true);
      expect(check(r, "auth-socket").ok, describeResult(r)).toBe(true);
    } finally {
      await postconf("smtpd_tls_auth_only = yes");
    }
  });

  it("no authenticated-sender header: smtpd_sasl_authenticated_header = no", async () => {
    await postconf("smtpd_sasl_authenticated_header = no");
    try {
      const r = await checkStep(env, step("smtp-auth"));
      expectFailing(r, { "authenticated-header": { de: /smtpd_sasl_authenticated_header = yes/, en: /smtpd_sasl_authenticated_header = yes/ } });
      expect(check(r, "auth-relay").ok, describeResult(r)).toBe(true);
    } finally {
      await postconf("smtpd_sasl_authenticated_header = yes");
    }
  });

  const MASTER = "/etc/dovecot/conf.d/10-master.conf";
  /** Perl one-liner: exit 0 when something accepts connections on the unix socket $ARGV[0]. */
  const connects = `perl -MIO::Socket::UNIX -e 'IO::Socket::UNIX->new(Peer => $ARGV[0], Type => 1) or exit 1' /var/spool/postfix/private/auth`;
  async function moveListener(to: string | null): Promise<void> {
    const replacement = to === null ? "#unix_listener /var/spool/postfix/private/auth" : `unix_listener ${to}`;
    const removeBlock = to === null ? `perl -0pi -e 's|#unix_listener /var/spool/postfix/private/auth \\{.*?\\}|#removed|s' ${MASTER} && ` : "";
    await env.sh(
      "mail",
      `cp ${MASTER} /root/10-master.conf.orig && sed -i 's|^\\(\\s*\\)unix_listener /var/spool/postfix/private/auth|\\1${replacement}|' ${MASTER} && ${removeBlock}` +
        // Dovecot leaves the old socket file behind; wait until its old auth process no longer answers there.
        `systemctl restart dovecot && for i in $(seq 50); do ${connects} || exit 0; sleep 0.2; done; echo "old auth socket still answers" >&2; exit 1`,
    );
  }
  async function restoreListener(): Promise<void> {
    // After failed SASL set-ups Postfix throttles smtpd: a reload ends that, as a learner would do.
    await env.sh(
      "mail",
      `cp /root/10-master.conf.orig ${MASTER} && systemctl restart dovecot && for i in $(seq 50); do ${connects} && break; sleep 0.2; done && postfix reload && ` +
      `for i in $(seq 60); do exec 3<>/dev/tcp/127.0.0.1/25 && read -r -t 2 l <&3 && [[ $l == 220* ]] && exit 0; exec 3<&-; sleep 1; done; exit 1`,
      120_000,
    );
  }

  it("the Dovecot auth socket missing", async () => {
    await moveListener(null);
    try {
      const r = await checkStep(env, step("smtp-auth"));
      expectFailing(r, {
        "auth-socket": { de: /relativ zu \/var\/spool\/postfix/, en: /relative to \/var\/spool\/postfix/ },
        // The gate: with SASL on and no socket every smtpd would crash, so the SMTP checks do not probe.
        "auth-relay": { de: /antwortet kein Dovecot/, en: /no Dovecot answers/ },
      });
      expect(check(r, "auth-socket").message.en).toMatch(/private\/auth is missing|does not answer on \/var\/spool\/postfix\/private\/auth/);
    } finally {
      await restoreListener();
    }
    const recovered = await checkStep(env, step("smtp-auth"));
    expect(recovered.status, describeResult(recovered)).toBe("pass");
  });

  it("the Dovecot auth socket in the wrong place", async () => {
    await moveListener("/var/spool/postfix/auth");
    try {
      const r = await checkStep(env, step("smtp-auth"));
      expectFailing(r, {
        "auth-socket": { de: /Socket unter \/var\/spool\/postfix\/auth bereit/, en: /socket at \/var\/spool\/postfix\/auth, but Postfix asks \/var\/spool\/postfix\/private\/auth/ },
      });
    } finally {
      await restoreListener();
    }
  });

  it("running every check several times never counts as the learner's own action", async () => {
    const all = [...lab1.steps, ...lab2.steps];
    for (let round = 0; round < 3; round++) for (const s of all) await checkStep(env, s);
    for (const s of all) {
      const r = await checkStep(env, s);
      if (s.kind === "config") expect(r.status, describeResult(r)).toBe("pass");
      else {
        // The action steps' evidence checks (not the guards) must still fail.
        for (const c of r.checks) {
          const def = s.checks.find((d) => d.id === c.id)!;
          if (!def.guard) expect(c.ok, `${s.id}/${c.id} counted the checks' own traffic:\n${describeResult(r)}`).toBe(false);
        }
      }
    }
    // Nothing of the checks landed in a mailbox.
    const mailboxes = await env.sh("mail", `cat /var/mail/${env.params.users[0]!.name} /var/mail/${env.params.users[1]!.name} 2>/dev/null | grep -c maillab-check || true`);
    expect(mailboxes.trim()).toBe("0");
  });
});
