#!/bin/bash
# On mail: evidence that the learner tried to relay from partner and was refused. Postfix logs
#   NOQUEUE: reject: RCPT from partner[IP]: 454 4.7.1 <x@y>: Relay access denied; from=<..> to=<..> proto=SMTP helo=<..>
# The checks' own attempts use helo=<maillab-check.invalid> and never count.
lines=$(mail_log | grep -F "[$MAILLAB_PARTNER_IP]" | grep -F "Relay access denied" | grep -vF "helo=<$CHECK_HELO>")
if [ -n "$lines" ]; then
  note "$(tail -n1 <<<"$lines")"
  to=$(tail -n1 <<<"$lines" | sed -n 's/.* to=<\([^>]*\)>.*/\1/p')
  pass "Ihr Relay-Versuch an <$to> wurde abgewiesen – so soll es sein" "Your relay attempt to <$to> was refused – as it should be"
fi
hint "Versuchen Sie auf partner selbst, den Server als Relay zu missbrauchen: telnet mail 25, EHLO partner, MAIL FROM:<test@partner>, RCPT TO:<jemand@anderswo.example>. Erwartet: Relay access denied." \
     "On partner, try to abuse the server as a relay yourself: telnet mail 25, EHLO partner, MAIL FROM:<test@partner>, RCPT TO:<someone@elsewhere.example>. Expected: Relay access denied."
if mail_log | grep -F "[$MAILLAB_PARTNER_IP]" | grep -F "postfix/smtpd" | grep -vF "helo=<$CHECK_HELO>" | grep -q " to=<"; then
  hint "In mail.log gibt es Mails von partner, aber keinen abgewiesenen Relay-Versuch. Nehmen Sie als Empfänger eine Adresse einer fremden Domain." \
       "mail.log shows mail from partner, but no refused relay attempt. Use a recipient in a foreign domain."
fi
fail "Noch kein Relay-Versuch von partner in /var/log/mail.log" "No relay attempt from partner in /var/log/mail.log yet"
