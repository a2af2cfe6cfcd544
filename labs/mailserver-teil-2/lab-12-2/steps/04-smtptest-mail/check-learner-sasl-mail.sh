#!/bin/bash
# On mail: a mail that came in over SMTP from partner with SMTP AUTH (smtpd logs
# "client=…[partner], sasl_method=…, sasl_username=<user>"), was not sent by a check (sender
# maillab-check@…) and was delivered by local(8) to user1 or user2.
found=$(partner_deliveries sasl)
if [ -n "$found" ]; then
  read -r qid user rcpt <<<"$(last_line "$found")"
  note "mail.log: $qid client=partner, sasl_username=$user, delivered to $rcpt"
  pass "Mail von $user (angemeldet per SMTP-AUTH) an $rcpt zugestellt (Queue-ID $qid)" \
       "Mail from $user (authenticated by SMTP AUTH) delivered to $rcpt (queue id $qid)"
fi
failed=$(mail_log | awk -v ip="[$MAILLAB_PARTNER_IP]" 'index($0, ip) && /SASL [A-Z0-9-]+ authentication failed/ { l = $0 } END { print l }')
if [ -n "$failed" ]; then
  note "$failed"
  hint "Die Anmeldung ist gescheitert (authentication failed). Passwörter: $MAILLAB_USER1 = $MAILLAB_PASSWORD1, $MAILLAB_USER2 = $MAILLAB_PASSWORD2." \
       "The authentication failed. Passwords: $MAILLAB_USER1 = $MAILLAB_PASSWORD1, $MAILLAB_USER2 = $MAILLAB_PASSWORD2."
fi
if [ -n "$(partner_deliveries)" ]; then
  hint "Es gibt Mails von partner, aber ohne Anmeldung (z. B. per telnet). Verwenden Sie smtptest -t \"\" -a $MAILLAB_USER1 -u $MAILLAB_USER1 mail." \
       "There are mails from partner, but without authentication (e.g. by telnet). Use smtptest -t \"\" -a $MAILLAB_USER1 -u $MAILLAB_USER1 mail."
fi
hint "Senden Sie auf partner mit smtptest -t \"\" -a $MAILLAB_USER1 -u $MAILLAB_USER1 mail eine Mail an $MAILLAB_USER2@$MAILLAB_DOMAIN (nach „Authenticated.“: MAIL FROM, RCPT TO, DATA, Text, Punkt, QUIT)." \
     "On partner, send a mail to $MAILLAB_USER2@$MAILLAB_DOMAIN with smtptest -t \"\" -a $MAILLAB_USER1 -u $MAILLAB_USER1 mail (after \"Authenticated.\": MAIL FROM, RCPT TO, DATA, text, dot, QUIT)."
fail "Noch keine angemeldet eingelieferte Mail von partner zugestellt" "No mail submitted with authentication from partner delivered yet"
