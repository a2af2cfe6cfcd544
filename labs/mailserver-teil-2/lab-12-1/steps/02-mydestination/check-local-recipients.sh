#!/bin/bash
# From partner: RCPT TO the local users at the test domain (and at the host name) is accepted.
# The dialogue stops after RCPT (RSET, QUIT): nothing is delivered, so it can never count as the learner's mail.
if ! smtp_open "$MAIL_HOST" 25; then
  hint "Port 25 ist von partner aus nicht erreichbar – zuerst den vorigen Schritt (inet_interfaces) erledigen." \
       "Port 25 is not reachable from partner – do the previous step (inet_interfaces) first."
  fail "Keine SMTP-Verbindung zu $MAIL_HOST" "No SMTP connection to $MAIL_HOST"
fi
smtp "EHLO $CHECK_HELO"
smtp "MAIL FROM:<$CHECK_FROM>" || fail "MAIL FROM wurde abgelehnt: $SMTP_REPLY" "MAIL FROM was rejected: $SMTP_REPLY"
bad="" hinted=" "
for rcpt in "$MAILLAB_USER1@$MAILLAB_DOMAIN" "$MAILLAB_USER2@$MAILLAB_DOMAIN" "$MAILLAB_USER1@$MAILLAB_MAIL_HOST"; do
  if ! smtp "RCPT TO:<$rcpt>"; then
    bad+="${bad:+, }$rcpt"
    reply=$(last_line "$SMTP_REPLY")
    case $reply in
      *"Relay access denied"*)
        [[ $hinted == *" ${rcpt#*@} "* ]] && continue
        hinted+="${rcpt#*@} "
        hint "$rcpt: „Relay access denied“ – Postfix betrachtet ${rcpt#*@} nicht als lokale Domain: sie fehlt in mydestination." \
             "$rcpt: \"Relay access denied\" – Postfix does not treat ${rcpt#*@} as a local domain: it is missing from mydestination." ;;
      *"User unknown"*)
        hint "$rcpt: Die Domain ist lokal, aber den Benutzer kennt Postfix nicht ($reply)." \
             "$rcpt: the domain is local, but Postfix does not know the user ($reply)." ;;
      *)
        hint "$rcpt wurde abgewiesen: $reply" "$rcpt was rejected: $reply" ;;
    esac
  fi
done
smtp "RSET"
smtp_quit >/dev/null
[ -z "$bad" ] && pass "Mails an $MAILLAB_USER1 und $MAILLAB_USER2 @$MAILLAB_DOMAIN werden angenommen" \
                      "Mail to $MAILLAB_USER1 and $MAILLAB_USER2 @$MAILLAB_DOMAIN is accepted"
fail "Abgewiesen: $bad" "Rejected: $bad"
