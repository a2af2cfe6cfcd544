// The evidence logic of labs/mailserver-teil-2/lib/check-lib.sh on a sample mail.log and mbox, run
// with the local bash and awk (mawk, as in the lab machines): which mails and log lines count as the
// learner's, and that the checks' own traffic never does.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { defaultCourseDir } from "./load-course";

const LIB = path.join(defaultCourseDir(), "lib", "check-lib.sh");
const FIX = path.join(import.meta.dirname, "__fixtures__", "mail");

function sh(script: string): string {
  const r = spawnSync("bash", ["-c", `source "${LIB}"; mailbox_of() { printf '%s/%s.mbox' "${FIX}" "$1"; }\n${script}`], {
    env: {
      ...process.env,
      MAIL_LOG: path.join(FIX, "mail.log"),
      MAILLAB_PARTNER_IP: "10.213.0.3",
      MAILLAB_USER1: "alice",
      MAILLAB_USER2: "bob",
      MAILLAB_DOMAIN: "k7qa.example.test",
      MAILLAB_CHECK_HELO: "maillab-check.invalid",
    },
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`bash exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

describe("check-lib evidence helpers", () => {
  it("partner_deliveries: mails from partner delivered to the users, not the checks' (sender maillab-check@…)", () => {
    const lines = sh("partner_deliveries").trim().split("\n").sort();
    expect(lines).toEqual(["AAAAAAAAAA - alice", "DDDDDDDDDD alice bob"]);
  });

  it("partner_deliveries sasl: only authenticated submissions from partner", () => {
    expect(sh("partner_deliveries sasl").trim()).toBe("DDDDDDDDDD alice bob");
  });

  it("mbox_received_headers: the topmost Received header of each message, unfolded, not from the body", () => {
    const headers = sh('mbox_received_headers "$(mailbox_of bob)"').trim().split("\n");
    expect(headers).toHaveLength(2);
    expect(headers[0]).toBe(
      "Received: from smtptest (partner.net [10.213.0.3]) (Authenticated sender: alice) by mail.k7qa.example.test (Postfix) with ESMTPSA id DDDDDDDDDD for <bob@mail.k7qa.example.test>; Fri, 27 Nov 2026 22:02:01 +0000 (UTC)",
    );
    expect(headers[1]).toMatch(/^Received: from maillab-check\.invalid /);
  });

  it("the learner's relay attempt counts, the checks' does not", () => {
    const out = sh(`awk -v ip="[$MAILLAB_PARTNER_IP]" -v helo="helo=<$CHECK_HELO>" 'index($0, ip) && /Relay access denied/ && !index($0, helo)' "$MAIL_LOG"`);
    expect(out.trim().split("\n")).toHaveLength(1);
    expect(out).toContain("helo=<partner>");
  });

  it("small helpers", () => {
    expect(sh('ip_in_cidr 10.213.0.3 10.213.0.0/28 && echo in; ip_in_cidr 10.213.0.19 10.213.0.0/28 || echo out; ip_in_cidr 1.2.3.4 0.0.0.0/0 && echo all').trim()).toBe("in\nout\nall");
    expect(sh('in_list K7QA.example.test "mail.k7qa.example.test, k7qa.example.test localhost" && echo yes; in_list example.test "k7qa.example.test" || echo no').trim()).toBe("yes\nno");
    expect(sh('SMTP_REPLY=$\'250-mail\\n250-STARTTLS\\n250-AUTH PLAIN LOGIN\\n250 CHUNKING\\n\'; smtp_ehlo_has starttls && echo tls; smtp_ehlo_has AUTH && echo auth; smtp_ehlo_has DSN || echo nodsn; smtp_auth_mechs').trim()).toBe("tls\nauth\nnodsn\nPLAIN LOGIN");
    expect(sh('last_line $\'a\\nb\\nc\\n\'; echo; first_line $\'a\\nb\'').trim()).toBe("c\na");
    expect(sh("auth_plain_token alice secret").trim()).toBe(Buffer.from("\0alice\0secret").toString("base64"));
  });
});
