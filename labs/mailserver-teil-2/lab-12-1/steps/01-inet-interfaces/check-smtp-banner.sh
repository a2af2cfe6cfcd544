#!/bin/bash
# From outside (the probe, maillab-check in mail.log): does mail answer on port 25 with a 220 greeting?
smtp_survey
if [ "$SV_SMTP_CONNECTED" = 1 ] && [ "$SV_SMTP_BANNER_CODE" = 220 ]; then
  pass "Postfix antwortet von außen: $SV_SMTP_BANNER" "Postfix answers from outside: $SV_SMTP_BANNER"
fi
if [ "$SV_SMTP_CONNECTED" = 1 ] || [ -n "$SV_SMTP_BANNER_CODE" ]; then
  hint "Port 25 ist offen, aber Postfix grüßt nicht mit 220, sondern mit: ${SV_SMTP_BANNER:-nichts}. Steht eine Einschränkung wie smtpd_client_restrictions = reject in main.cf?" \
       "Port 25 is open, but Postfix does not greet with 220, it says: ${SV_SMTP_BANNER:-nothing}. Is there a restriction like smtpd_client_restrictions = reject in main.cf?"
  fail "Unerwartete Begrüßung: ${SV_SMTP_BANNER:-keine}" "Unexpected greeting: ${SV_SMTP_BANNER:-none}"
fi
fail "Von außen keine Verbindung zu Port 25 (${SV_SMTP_ERROR:-keine Antwort})" "No connection to port 25 from outside (${SV_SMTP_ERROR:-no answer})"
