#!/bin/bash
# From partner, in one STARTTLS session: relaying to a foreign address is refused before AUTH and
# accepted at RCPT after AUTH PLAIN as user1. Nothing is sent: RSET after each RCPT.
smtp_open_starttls "$MAIL_HOST" 25
smtp "EHLO $CHECK_HELO" || fail "Keine Antwort auf EHLO nach STARTTLS" "No answer to EHLO after STARTTLS"
mechs=$(smtp_auth_mechs)
smtp "MAIL FROM:<$CHECK_FROM>"
if smtp "RCPT TO:<someone@elsewhere.example>"; then
  smtp "RSET"; smtp_quit
  hint "OFFENES RELAY: Ohne Anmeldung nimmt Postfix Mails an fremde Adressen an. Prüfen Sie mynetworks und smtpd_recipient_restrictions (… permit_sasl_authenticated, reject_unauth_destination)." \
       "OPEN RELAY: without authentication Postfix accepts mail for foreign addresses. Check mynetworks and smtpd_recipient_restrictions (… permit_sasl_authenticated, reject_unauth_destination)."
  fail "Relaying ohne Anmeldung wird angenommen" "Relaying without authentication is accepted"
fi
smtp "RSET"
if [ -z "$mechs" ]; then
  smtp_quit
  fail "Nach STARTTLS wird kein AUTH angeboten" "No AUTH offered after STARTTLS"
fi
# Dovecot's first PAM login can take a moment (auth worker start): wait longer for this reply.
if ! NET_TIMEOUT=8 smtp_secret "AUTH PLAIN $(auth_plain_token "$MAILLAB_USER1" "$MAILLAB_PASSWORD1")" "AUTH PLAIN <$MAILLAB_USER1 + password>"; then
  reply=$(last_line "$SMTP_REPLY")
  [ -z "$SMTP_CODE" ] && reply="keine Antwort / no answer"
  smtp_quit
  hint "Die Anmeldung als $MAILLAB_USER1 scheitert: $reply. Postfix fragt Dovecot über den Socket smtpd_sasl_path – läuft Dovecot, und stimmt der Pfad?" \
       "Authenticating as $MAILLAB_USER1 fails: $reply. Postfix asks Dovecot through the socket smtpd_sasl_path – is Dovecot running, and is the path right?"
  fail "AUTH PLAIN als $MAILLAB_USER1 abgewiesen: $reply" "AUTH PLAIN as $MAILLAB_USER1 refused: $reply"
fi
smtp "MAIL FROM:<$CHECK_FROM>"
if ! smtp "RCPT TO:<someone@elsewhere.example>"; then
  reply=$(last_line "$SMTP_REPLY")
  smtp_quit
  hint "Trotz Anmeldung wird Relaying abgewiesen ($reply): permit_sasl_authenticated muss in smtpd_recipient_restrictions (und smtpd_relay_restrictions) vor reject_unauth_destination stehen." \
       "Relaying is refused despite authentication ($reply): permit_sasl_authenticated must come before reject_unauth_destination in smtpd_recipient_restrictions (and smtpd_relay_restrictions)."
  fail "Relaying nach AUTH abgewiesen: $reply" "Relaying refused after AUTH: $reply"
fi
smtp "RSET"
smtp_quit
pass "Nach AUTH als $MAILLAB_USER1 darf partner an fremde Adressen senden, ohne AUTH nicht" \
     "After AUTH as $MAILLAB_USER1 partner may send to foreign addresses, without AUTH it may not"
