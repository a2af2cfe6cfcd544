#!/bin/bash
# From outside: RCPT TO the local users at the test domain and at the host name is accepted (250).
# The shared dialogue stops after RCPT (RSET, QUIT): nothing is delivered.
smtp_survey
smtp_session_or_fail later-step
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
    *"Server configuration error"*|*"Temporary lookup failure"*)
      [[ $hinted == *" 451 "* ]] && continue
      hinted+="451 "
      hint "$rcpt: „$reply“ – Postfix kann eine Einstellung nicht auswerten (eine falsch geschriebene Restriktion, ein ungültiger Eintrag, eine Tabelle ohne postmap). Was genau, steht als warning oder error in /var/log/mail.log." \
           "$rcpt: \"$reply\" – Postfix cannot evaluate a setting (a misspelt restriction, an invalid entry, a table without postmap). What exactly is in /var/log/mail.log as a warning or error." ;;
    "")
      [[ $hinted == *" none "* ]] && continue
      hinted+="none "
      hint "$rcpt: Postfix hat auf RCPT nicht innerhalb von $NET_TIMEOUT s geantwortet – wartet eine Restriktion auf DNS (z. B. reject_unknown_…)? Hier gibt es kein DNS nach außen." \
           "$rcpt: Postfix did not answer RCPT within $NET_TIMEOUT s – does a restriction wait for DNS (e.g. reject_unknown_…)? There is no DNS to the outside here." ;;
    *)
      hint "$rcpt wurde abgewiesen: $reply" "$rcpt was rejected: $reply" ;;
  esac
done
[ -z "$bad" ] && pass "Mails an $MAILLAB_USER1 und $MAILLAB_USER2 @$MAILLAB_DOMAIN werden angenommen" \
                      "Mail to $MAILLAB_USER1 and $MAILLAB_USER2 @$MAILLAB_DOMAIN is accepted"
fail "Abgewiesen: $bad" "Rejected: $bad"
