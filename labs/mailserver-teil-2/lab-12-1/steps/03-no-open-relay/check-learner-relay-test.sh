#!/bin/bash
# On mail: evidence that the learner tried to relay from partner and was refused. Postfix logs
#   NOQUEUE: reject: RCPT from partner[IP]: 454 4.7.1 <x@y>: Relay access denied; from=<..> to=<x@y> …
# Only a recipient outside the server's own domains counts as a relay attempt: a mail to the test
# domain refused before mydestination was fixed (step 2's own instruction) is not one. The checks
# come from the probe (maillab-check), never from partner's address.
last=$(mail_log | awk -v ip="[$MAILLAB_PARTNER_IP]:" -v dom="$MAILLAB_DOMAIN" -v host="$MAIL_HOST" -v mip="$MAILLAB_MAIL_IP" '
  index($0, ip) && /Relay access denied/ && match($0, / to=<[^>]*>/) {
    to = tolower(substr($0, RSTART + 5, RLENGTH - 6)); d = to; sub(/^.*@/, "", d)
    if (d == dom || d == host || d == "localhost" || d == "localhost.localdomain" || d == "[" mip "]" || to !~ /@/) next
    l = $0
  }
  END { print l }')
if [ -n "$last" ]; then
  note "$last"
  to=${last#* to=<}; to=${to%%>*}
  pass "Ihr Relay-Versuch an <$to> wurde abgewiesen – so soll es sein" "Your relay attempt to <$to> was refused – as it should be"
fi
own=$(mail_log | awk -v ip="[$MAILLAB_PARTNER_IP]:" -v dom="@$MAILLAB_DOMAIN>" 'index($0, ip) && /Relay access denied/ && index($0, dom) { n++ } END { print n + 0 }')
if [ "$own" -gt 0 ]; then
  hint "Ein „Relay access denied“ für eine Adresse @$MAILLAB_DOMAIN zählt nicht: das war Ihre eigene Domain vor der Korrektur von mydestination. Ein Relay-Versuch geht an eine fremde Domain." \
       "A \"Relay access denied\" for an address @$MAILLAB_DOMAIN does not count: that was your own domain before mydestination was fixed. A relay attempt goes to a foreign domain."
fi
# Refused for another reason (e.g. a hardened server: "need fully-qualified address" for the
# lesson's MAIL FROM:<test@partner>): not a relay test, but say what happened.
other=$(mail_log_since "$(changed_at postfix)" | awk -v ip="[$MAILLAB_PARTNER_IP]:" 'index($0, ip) && /: reject: RCPT from / && !/Relay access denied/ { l = $0 } END { print l }')
if [ -n "$other" ]; then
  note "$other"
  reason=${other#*]: }; reason=${reason%%; from=*}
  hint "Ihr Versuch von partner wurde aus einem anderen Grund abgewiesen: „$reason“ – nicht, weil Postfix nicht relayt. Ein Relay-Test braucht einen Absender, den Postfix annimmt (z. B. MAIL FROM:<test@partner.example>), und einen Empfänger in einer fremden Domain." \
       "Your attempt from partner was refused for another reason: \"$reason\" – not because Postfix does not relay. A relay test needs a sender Postfix accepts (e.g. MAIL FROM:<test@partner.example>) and a recipient in a foreign domain."
fi
hint "Versuchen Sie auf partner selbst, den Server als Relay zu missbrauchen: telnet mail 25, EHLO partner, MAIL FROM:<test@partner>, RCPT TO:<jemand@anderswo.example>. Erwartet: Relay access denied." \
     "On partner, try to abuse the server as a relay yourself: telnet mail 25, EHLO partner, MAIL FROM:<test@partner>, RCPT TO:<someone@elsewhere.example>. Expected: Relay access denied."
fail "Noch kein Relay-Versuch von partner an eine fremde Domain in /var/log/mail.log" "No relay attempt from partner to a foreign domain in /var/log/mail.log yet"
