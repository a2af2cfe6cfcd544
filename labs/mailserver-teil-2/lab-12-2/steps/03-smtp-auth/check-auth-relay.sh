#!/bin/bash
# From outside: relaying to a foreign address is refused without AUTH (the plain dialogue) and
# accepted at RCPT after AUTH as user1 over STARTTLS (the TLS dialogue). Nothing is sent: RSET.
smtp_survey
smtp_session_or_fail later-step
if [[ ${SV_RCPT_CODE[someone@elsewhere.example]} == 2* ]]; then
  hint "OFFENES RELAY: Ohne Anmeldung nimmt Postfix Mails an fremde Adressen an. Prüfen Sie mynetworks und smtpd_recipient_restrictions (… permit_sasl_authenticated, reject_unauth_destination)." \
       "OPEN RELAY: without authentication Postfix accepts mail for foreign addresses. Check mynetworks and smtpd_recipient_restrictions (… permit_sasl_authenticated, reject_unauth_destination)."
  fail "Relaying ohne Anmeldung wird angenommen" "Relaying without authentication is accepted"
fi
# Authentication only over TLS: without STARTTLS there is nothing to try.
ehlo_has "$SV_SMTP_EHLO" STARTTLS || fail "Postfix bietet kein STARTTLS an – ohne TLS keine Anmeldung" "Postfix offers no STARTTLS – no authentication without TLS"
smtp_tls_survey
[ "$SV_TLS_OK" = 1 ] || fail "Keine Antwort auf EHLO nach STARTTLS (${SV_TLS_ERROR:-?})" "No answer to EHLO after STARTTLS (${SV_TLS_ERROR:-?})"
[ -n "$SV_TLS_MECHS" ] || fail "Nach STARTTLS wird kein AUTH angeboten" "No AUTH offered after STARTTLS"
if [ "$SV_AUTH_CODE" != 235 ]; then
  reply=${SV_AUTH_REPLY:-keine Antwort / no answer}
  hint "Die Anmeldung als $MAILLAB_USER1 scheitert: $reply. Postfix fragt Dovecot über den Socket smtpd_sasl_path – läuft Dovecot, und stimmt der Pfad?" \
       "Authenticating as $MAILLAB_USER1 fails: $reply. Postfix asks Dovecot through the socket smtpd_sasl_path – is Dovecot running, and is the path right?"
  fail "AUTH als $MAILLAB_USER1 abgewiesen: $reply" "AUTH as $MAILLAB_USER1 refused: $reply"
fi
if [[ $SV_AUTH_RELAY_CODE != 2* ]]; then
  reply=${SV_AUTH_RELAY_REPLY:-keine Antwort}
  hint "Trotz Anmeldung wird Relaying abgewiesen ($reply): permit_sasl_authenticated muss in smtpd_recipient_restrictions (und smtpd_relay_restrictions) vor reject_unauth_destination stehen." \
       "Relaying is refused despite authentication ($reply): permit_sasl_authenticated must come before reject_unauth_destination in smtpd_recipient_restrictions (and smtpd_relay_restrictions)."
  fail "Relaying nach AUTH abgewiesen: $reply" "Relaying refused after AUTH: $reply"
fi
pass "Nach AUTH als $MAILLAB_USER1 darf man an fremde Adressen senden, ohne AUTH nicht" \
     "After AUTH as $MAILLAB_USER1 one may send to foreign addresses, without AUTH one may not"
