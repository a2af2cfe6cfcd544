#!/bin/bash
# On mail: a mail that came in over SMTP from partner, over TLS, with SMTP AUTH (smtpd logs
# "client=partner[…], sasl_method=…, sasl_username=<user>") and was delivered by local(8) to user1
# or user2. Kept once found: reading or deleting the mail later does not undo it.
found=$(partner_deliveries sasl)
good=$(awk '$4 == "tls"' <<<"$found" | tail -n1)
if [ -n "$good" ]; then
  read -r qid user rcpt _ <<<"$good"
  note "mail.log: $qid client=partner, TLS, sasl_username=$user, delivered to $rcpt"
  pass "Mail von $user (angemeldet per SMTP-AUTH über TLS) an $rcpt zugestellt (Queue-ID $qid)" \
       "Mail from $user (authenticated by SMTP AUTH over TLS) delivered to $rcpt (queue id $qid)"
fi
if [ -n "$found" ]; then
  hint "Ihre Mail kam angemeldet, aber ohne TLS an (ESMTPA statt ESMTPSA): das Passwort ging im Klartext übers Netz. Setzen Sie smtpd_tls_auth_only = yes und senden Sie mit smtptest -t \"\" (STARTTLS)." \
       "Your mail arrived authenticated but without TLS (ESMTPA instead of ESMTPSA): the password crossed the network in plain text. Set smtpd_tls_auth_only = yes and send with smtptest -t \"\" (STARTTLS)."
fi
if ! postfix_running; then
  hint "Postfix läuft nicht – smtptest bekommt so keine Verbindung. Warum, sagen systemctl status postfix und /var/log/mail.log; nach der Korrektur: systemctl start postfix." \
       "Postfix is not running – smtptest gets no connection. systemctl status postfix and /var/log/mail.log say why; after the fix: systemctl start postfix."
fi
failed=$(mail_log_since "$(changed_at postfix sasl dovecot)" | awk -v ip="[$MAILLAB_PARTNER_IP]" 'index($0, ip) && /SASL [A-Z0-9-]+ authentication failed/ { l = $0 } END { print l }')
if [ -n "$failed" ]; then
  note "$failed"
  hint "Die Anmeldung ist gescheitert (authentication failed). Passwörter: $MAILLAB_USER1 = $MAILLAB_PASSWORD1, $MAILLAB_USER2 = $MAILLAB_PASSWORD2." \
       "The authentication failed. Passwords: $MAILLAB_USER1 = $MAILLAB_PASSWORD1, $MAILLAB_USER2 = $MAILLAB_PASSWORD2."
fi
if [ -z "$found" ] && [ -n "$(partner_deliveries)" ]; then
  hint "Es gibt Mails von partner, aber ohne Anmeldung (z. B. per telnet). Verwenden Sie smtptest -t \"\" -a $MAILLAB_USER1 -u $MAILLAB_USER1 mail." \
       "There are mails from partner, but without authentication (e.g. by telnet). Use smtptest -t \"\" -a $MAILLAB_USER1 -u $MAILLAB_USER1 mail."
fi
hint "Senden Sie auf partner mit smtptest -t \"\" -a $MAILLAB_USER1 -u $MAILLAB_USER1 mail eine Mail an $MAILLAB_USER2@$MAILLAB_DOMAIN (nach „Authenticated.“: MAIL FROM, RCPT TO, DATA, Text, Punkt, QUIT)." \
     "On partner, send a mail to $MAILLAB_USER2@$MAILLAB_DOMAIN with smtptest -t \"\" -a $MAILLAB_USER1 -u $MAILLAB_USER1 mail (after \"Authenticated.\": MAIL FROM, RCPT TO, DATA, text, dot, QUIT)."
fail "Noch keine über TLS angemeldet eingelieferte Mail von partner zugestellt" "No mail submitted from partner with authentication over TLS delivered yet"
