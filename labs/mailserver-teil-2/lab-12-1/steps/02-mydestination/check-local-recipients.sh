#!/bin/bash
# From outside: RCPT TO the local users at the test domain and at the host name is accepted (250).
# The shared dialogue stops after RCPT (RSET, QUIT): nothing is delivered.
smtp_survey
if [ "$SV_SMTP_CONNECTED" != 1 ]; then
  hint "Port 25 ist von außen nicht erreichbar – zuerst den vorigen Schritt (inet_interfaces) erledigen." \
       "Port 25 is not reachable from outside – do the previous step (inet_interfaces) first."
  fail "Keine SMTP-Verbindung zu $MAIL_HOST" "No SMTP connection to $MAIL_HOST"
fi
[[ $SV_SMTP_MAIL_CODE == 2* ]] || fail "MAIL FROM wurde abgelehnt: $SV_SMTP_MAIL_REPLY" "MAIL FROM was rejected: $SV_SMTP_MAIL_REPLY"
bad="" hinted=" "
for rcpt in "${SURVEY_RCPTS[@]:0:3}"; do
  [[ ${SV_RCPT_CODE[$rcpt]} == 2* ]] && continue
  bad+="${bad:+, }$rcpt"
  reply=${SV_RCPT_REPLY[$rcpt]}
  case $reply in
    *"Relay access denied"*)
      [[ $hinted == *" ${rcpt#*@} "* ]] && continue
      hinted+="${rcpt#*@} "
      hint "$rcpt: „Relay access denied“ – Postfix betrachtet ${rcpt#*@} nicht als lokale Domain: sie fehlt in mydestination." \
           "$rcpt: \"Relay access denied\" – Postfix does not treat ${rcpt#*@} as a local domain: it is missing from mydestination." ;;
    *"User unknown"*)
      hint "$rcpt: Die Domain ist lokal, aber den Benutzer kennt Postfix nicht ($reply)." \
           "$rcpt: the domain is local, but Postfix does not know the user ($reply)." ;;
    *"Server configuration error"*)
      hint "$rcpt: „Server configuration error“ – Postfix versteht eine Einstellung nicht; die Warnung dazu steht in /var/log/mail.log (z. B. eine falsch geschriebene Restriktion)." \
           "$rcpt: \"Server configuration error\" – Postfix does not understand a setting; the warning is in /var/log/mail.log (e.g. a misspelt restriction)." ;;
    *)
      hint "$rcpt wurde abgewiesen: ${reply:-keine Antwort}" "$rcpt was rejected: ${reply:-no answer}" ;;
  esac
done
[ -z "$bad" ] && pass "Mails an $MAILLAB_USER1 und $MAILLAB_USER2 @$MAILLAB_DOMAIN werden angenommen" \
                      "Mail to $MAILLAB_USER1 and $MAILLAB_USER2 @$MAILLAB_DOMAIN is accepted"
fail "Abgewiesen: $bad" "Rejected: $bad"
