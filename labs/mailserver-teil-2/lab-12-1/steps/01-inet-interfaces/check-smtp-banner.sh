#!/bin/bash
# From partner: does mail answer on port 25 with a 220 greeting?
if smtp_open "$MAIL_HOST" 25; then
  banner=$(first_line "$SMTP_REPLY")
  smtp_quit >/dev/null
  pass "Postfix antwortet von außen: $banner" "Postfix answers from outside: $banner"
fi
err=$(conn_error); err=${err##*: }
if [ -n "$SMTP_CODE" ]; then
  hint "Auf Port 25 antwortet zwar etwas, aber nicht mit 220: $(first_line "$SMTP_REPLY")" \
       "Something answers on port 25, but not with 220: $(first_line "$SMTP_REPLY")"
else
  hint "partner kann keine Verbindung zu $MAIL_HOST Port 25 aufbauen ($err). Postfix nimmt nur auf den Interfaces Verbindungen an, die in inet_interfaces stehen." \
       "partner cannot connect to $MAIL_HOST port 25 ($err). Postfix only accepts connections on the interfaces listed in inet_interfaces."
fi
fail "Port 25 von mail ist von partner aus nicht erreichbar" "Port 25 of mail is not reachable from partner"
