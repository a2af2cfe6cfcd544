#!/bin/bash
# On mail: evidence that the learner tried to relay from partner and was refused. Postfix logs
#   NOQUEUE: reject: RCPT from partner[IP]: 454 4.7.1 <x@y>: Relay access denied; from=<..> to=<..> proto=SMTP helo=<..>
# The checks' own attempts say helo=<maillab-check.invalid> and never count.
last=$(mail_log | awk -v ip="[$MAILLAB_PARTNER_IP]" -v helo="helo=<$CHECK_HELO>" '
  index($0, ip) && /Relay access denied/ && !index($0, helo) { l = $0 } END { print l }')
if [ -n "$last" ]; then
  note "$last"
  to=${last#* to=<}; to=${to%%>*}
  pass "Ihr Relay-Versuch an <$to> wurde abgewiesen – so soll es sein" "Your relay attempt to <$to> was refused – as it should be"
fi
hint "Versuchen Sie auf partner selbst, den Server als Relay zu missbrauchen: telnet mail 25, EHLO partner, MAIL FROM:<test@partner>, RCPT TO:<jemand@anderswo.example>. Erwartet: Relay access denied." \
     "On partner, try to abuse the server as a relay yourself: telnet mail 25, EHLO partner, MAIL FROM:<test@partner>, RCPT TO:<someone@elsewhere.example>. Expected: Relay access denied."
fail "Noch kein Relay-Versuch von partner in /var/log/mail.log" "No relay attempt from partner in /var/log/mail.log yet"
