#!/bin/bash
# On mail: evidence that the learner sent a mail over SMTP from partner to a local user:
#  - mail.log: a queue id whose SMTP client was partner's address, delivered by local(8) into
#    user1's or user2's mailbox; or
#  - a mailbox (/var/mail, ~/mbox, ~/Maildir): a message whose topmost Received header names
#    partner's address, for when the log was rotated away.
# Checks come from the probe and never deliver, so neither can come from a check. Kept once found
# (evidence): reading or deleting the mail later does not undo it.
found=$(partner_deliveries)
if [ -n "$found" ]; then
  read -r qid _ user _ <<<"$(last_line "$found")"
  note "mail.log: queue id $qid from partner delivered to $user"
  pass "Ihre Mail von partner wurde an $user zugestellt (Queue-ID $qid)" "Your mail from partner was delivered to $user (queue id $qid)"
fi
hdr=$(received_headers "$MAILLAB_USER1" "$MAILLAB_USER2" | awk -v ip="[$MAILLAB_PARTNER_IP]" -v helo="Received: from $CHECK_HELO " 'index($0, ip) && index($0, helo) != 1 { l = $0 } END { print l }')
if [ -n "$hdr" ]; then
  note "$hdr"
  pass "Ihre Mail von partner liegt im Postfach" "Your mail from partner is in the mailbox"
fi
# A restart that failed (a typo in main.cf) leaves Postfix down: the learner's telnet is refused.
if ! postfix_running; then
  hint "Postfix läuft nicht – telnet mail 25 bekommt so nur „Connection refused“. Warum, sagen systemctl status postfix und /var/log/mail.log; nach der Korrektur: systemctl start postfix." \
       "Postfix is not running – telnet mail 25 gets nothing but \"Connection refused\". systemctl status postfix and /var/log/mail.log say why; after the fix: systemctl start postfix."
fi
# Only what went wrong since the last change of the configuration: a reject from before the fix
# of mydestination is not news any more.
problems=$(mail_log_since "$(changed_at postfix)" | awk -v ip="[$MAILLAB_PARTNER_IP]" '
  index($0, ip) && /postfix\/smtpd/ && /(reject:|warning:|lost connection after)/ { sub(/^.*postfix\/smtpd\[[0-9]+\]: /, ""); l[++n] = $0 }
  END { for (i = (n > 3 ? n - 2 : 1); i <= n; i++) print l[i] }')
if [ -n "$problems" ]; then
  note "$problems"
  hint "Postfix hat von partner etwas abgewiesen oder die Verbindung verloren: $(last_line "$problems")" \
       "Postfix rejected something from partner or lost the connection: $(last_line "$problems")"
  if [[ $problems == *"lost connection after DATA"* ]]; then
    hint "Die Verbindung wurde nach DATA getrennt: Beenden Sie den Text mit einer Zeile, die nur einen Punkt „.“ enthält, und warten Sie auf „250 … queued as“." \
         "The connection was closed after DATA: end the text with a line containing only a dot \".\" and wait for \"250 … queued as\"."
  fi
fi
# Sent, but not from partner: on mail itself (telnet localhost 25, the mail command).
local=$(mail_log_since "$(changed_at postfix)" | awk -v pip="[$MAILLAB_PARTNER_IP]" -v prb="[$MAILLAB_PROBE_IP]" '
  / postfix\/smtpd\[[0-9]+\]: [0-9A-Za-z]+: client=/ && !index($0, pip) && !index($0, prb) { how = "smtp" }
  / postfix\/pickup\[[0-9]+\]: [0-9A-Za-z]+: uid=/ { how = "pickup" }
  END { print how }')
if [ -n "$local" ]; then
  hint "In mail.log steht eine Mail, die auf mail selbst eingeliefert wurde (telnet localhost 25 oder der Befehl mail) – der Test soll von außen kommen: auf partner mit telnet mail 25." \
       "mail.log shows a mail submitted on mail itself (telnet localhost 25 or the mail command) – the test is meant to come from outside: on partner with telnet mail 25."
fi
hint "Senden Sie von partner aus mit telnet mail 25 eine Mail an $MAILLAB_USER1@$MAILLAB_DOMAIN (HELO, MAIL FROM, RCPT TO, DATA, Text, Punkt-Zeile, QUIT)." \
     "From partner, send a mail to $MAILLAB_USER1@$MAILLAB_DOMAIN with telnet mail 25 (HELO, MAIL FROM, RCPT TO, DATA, text, dot line, QUIT)."
fail "Noch keine Mail von partner an $MAILLAB_USER1 oder $MAILLAB_USER2 zugestellt" "No mail from partner delivered to $MAILLAB_USER1 or $MAILLAB_USER2 yet"
