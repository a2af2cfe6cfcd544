import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { InlineMarkdown } from "./inline-markdown";

const html = (text: string) => renderToStaticMarkup(createElement(InlineMarkdown, { text }));

describe("InlineMarkdown (hints and check messages)", () => {
  it("renders code spans, bold and emphasis instead of showing the backticks", () => {
    expect(html("Die Pakete heißen `dovecot-imapd` und `dovecot-pop3d`.")).toBe(
      "Die Pakete heißen <code>dovecot-imapd</code> und <code>dovecot-pop3d</code>.",
    );
    expect(html("**nicht** `postfix reload`, *sondern* neu starten")).toBe("<strong>nicht</strong> <code>postfix reload</code>, <em>sondern</em> neu starten");
    expect(html("``a `b` c``")).toBe("<code>a `b` c</code>");
  });

  it("keeps underscores (Postfix parameters) and escapes markup", () => {
    expect(html("smtpd_tls_auth_only = yes")).toBe("smtpd_tls_auth_only = yes");
    expect(html("`<script>` & <b>x</b>")).toBe("<code>&lt;script&gt;</code> &amp; &lt;b&gt;x&lt;/b&gt;");
  });

  it("leaves lone markers alone", () => {
    expect(html("a * b and `unclosed")).toBe("a * b and `unclosed");
  });
});
