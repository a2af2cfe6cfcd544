#!/bin/bash
# From outside: a user that does not exist at the test domain is rejected with 550 (user unknown),
# i.e. the domain is local (not "Relay access denied") and Postfix checks the local users.
smtp_survey
rcpt="maillab-no-such-user@$MAILLAB_DOMAIN"
smtp_session_or_fail later-step
[[ $SV_SMTP_MAIL_CODE == 2* ]] || fail "MAIL FROM wurde abgelehnt: $SV_SMTP_MAIL_REPLY" "MAIL FROM was rejected: $SV_SMTP_MAIL_REPLY"
code=${SV_RCPT_CODE[$rcpt]} reply=${SV_RCPT_REPLY[$rcpt]}
if [[ $code == 2* ]]; then
  hint "Postfix nimmt Mails an nicht existierende Benutzer an und müsste sie später als Bounce zurückschicken. Ist local_recipient_maps leer oder luser_relay gesetzt – oder steht $MAILLAB_DOMAIN in relay_domains statt in mydestination?" \
       "Postfix accepts mail for users that do not exist and would have to bounce it later. Is local_recipient_maps empty or luser_relay set – or is $MAILLAB_DOMAIN in relay_domains instead of mydestination?"
  fail "$rcpt wurde angenommen statt abgewiesen" "$rcpt was accepted instead of rejected"
fi
if [ "$code" = 550 ] && [[ ${reply,,} == *unknown* ]]; then
  pass "Unbekannte Benutzer werden abgewiesen: $reply" "Unknown users are rejected: $reply"
fi
if [[ $reply == *"Relay access denied"* ]]; then
  hint "„Relay access denied“ statt „User unknown“: $MAILLAB_DOMAIN ist für Postfix (noch) keine lokale Domain – sie fehlt in mydestination." \
       "\"Relay access denied\" instead of \"User unknown\": $MAILLAB_DOMAIN is not (yet) a local domain for Postfix – it is missing from mydestination."
fi
fail "Erwartet: 550 User unknown, erhalten: ${reply:-keine Antwort}" "Expected: 550 user unknown, got: ${reply:-no answer}"
