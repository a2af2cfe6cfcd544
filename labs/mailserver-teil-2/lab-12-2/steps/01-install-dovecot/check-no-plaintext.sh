#!/bin/bash
# From outside: before STARTTLS, Dovecot must not take passwords (IMAP says LOGINDISABLED and
# offers no AUTH=; POP3 offers neither USER nor SASL mechanisms) - Dovecot's default
# disable_plaintext_auth = yes. Uses the same two sessions as the IMAP and POP3 checks.
imap_survey
pop3_survey
if [ "$SV_IMAP_CONNECT" != 1 ] && [ "$SV_POP3_CONNECT" != 1 ]; then
  hint "Weder IMAP (143) noch POP3 (110) antworten – zuerst Dovecot installieren." "Neither IMAP (143) nor POP3 (110) answers – install Dovecot first."
  fail "Dovecot antwortet nicht" "Dovecot does not answer"
fi
open=""
caps=" ${SV_IMAP_CAPS^^} "
if [ "$SV_IMAP_CONNECT" = 1 ] && { [[ $caps != *" LOGINDISABLED "* ]] || [[ $caps == *" AUTH="* ]]; }; then
  open+=" IMAP (${SV_IMAP_CAPS})"
fi
pcaps=" ${SV_POP3_CAPS^^} "
if [ "$SV_POP3_CONNECT" = 1 ] && { [[ $pcaps == *" USER "* ]] || [[ $pcaps =~ \ SASL\ [A-Z] ]]; }; then
  open+=" POP3 (${SV_POP3_CAPS})"
fi
if [ -n "$open" ]; then
  hint "Dovecot nimmt Passwörter schon vor STARTTLS an:$open. Jeder im Netz könnte sie mitlesen. Setzen Sie disable_plaintext_auth = yes (Debians Voreinstellung, /etc/dovecot/conf.d/10-auth.conf) und laden Sie Dovecot neu." \
       "Dovecot takes passwords before STARTTLS:$open. Anyone on the network could read them. Set disable_plaintext_auth = yes (Debian's default, /etc/dovecot/conf.d/10-auth.conf) and reload Dovecot."
  fail "Klartext-Anmeldung ohne TLS möglich:$open" "Plain-text login without TLS possible:$open"
fi
pass "Anmeldung nur nach STARTTLS (IMAP: LOGINDISABLED, POP3: kein USER)" "Login only after STARTTLS (IMAP: LOGINDISABLED, POP3: no USER)"
