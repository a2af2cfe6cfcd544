#!/bin/bash
# From partner, behaviour of smtpd_sasl_authenticated_header: authenticate as user1, send a check
# mail (sender maillab-check@…) to an address literal on partner itself, receive it here with a
# one-shot SMTP receiver and read the Received header Postfix wrote. The mail never enters a local
# mailbox, and its sender marks it as a check's in mail.log.
smtp_sink_lock 10 || fail "Ein anderer Check empfängt gerade Mails auf partner" "Another check is receiving mail on partner"
marker="maillab-check-$RANDOM$RANDOM"
out=/tmp/maillab-sink.$$
trap 'rm -f "$CONN_ERR" "$out" "$out.ready" "$out.err"; [ -n "${SINK_PID:-}" ] && kill "$SINK_PID" 2>/dev/null' EXIT

smtp_open_starttls "$MAIL_HOST" 25
smtp "EHLO $CHECK_HELO" || fail "Keine Antwort auf EHLO nach STARTTLS" "No answer to EHLO after STARTTLS"
[ -n "$(smtp_auth_mechs)" ] || { smtp_quit; fail "Nach STARTTLS wird kein AUTH angeboten" "No AUTH offered after STARTTLS"; }
NET_TIMEOUT=8 smtp_secret "AUTH PLAIN $(auth_plain_token "$MAILLAB_USER1" "$MAILLAB_PASSWORD1")" "AUTH PLAIN <$MAILLAB_USER1 + password>" ||
  { smtp_quit; fail "AUTH PLAIN als $MAILLAB_USER1 abgewiesen" "AUTH PLAIN as $MAILLAB_USER1 refused"; }
smtp_sink_start "$marker" "$out" 7 || fail "Empfänger auf partner Port 25 startet nicht: $(cat "$out.err" 2>/dev/null)" "Receiver on partner port 25 does not start: $(cat "$out.err" 2>/dev/null)"
smtp "MAIL FROM:<$CHECK_FROM>"
smtp "RCPT TO:<maillab-check@[$MAILLAB_PARTNER_IP]>" || { smtp_quit; fail "Relaying nach AUTH abgewiesen: $(last_line "$SMTP_REPLY")" "Relaying refused after AUTH: $(last_line "$SMTP_REPLY")"; }
smtp "DATA"
conn_send "Subject: $marker"
conn_send "Message-ID: <$marker@$CHECK_HELO>"
conn_send ""
conn_send "maillab check of smtpd_sasl_authenticated_header (never delivered to a mailbox)."
smtp "." || { smtp_quit; fail "Postfix hat die Test-Mail nicht angenommen: $(last_line "$SMTP_REPLY")" "Postfix did not accept the test mail: $(last_line "$SMTP_REPLY")"; }
smtp_quit
if ! smtp_sink_wait; then
  hint "Die angemeldet eingelieferte Test-Mail an partner kam nicht an – siehe /var/log/mail.log auf mail (status=…)." \
       "The test mail submitted with authentication did not arrive at partner – see /var/log/mail.log on mail (status=…)."
  fail "Test-Mail nicht empfangen" "Test mail not received"
fi
received=$(awk '/^$/ { exit } /^[ \t]/ { if (inrec) r = r " " $0; next } { if (inrec) exit; if (tolower($0) ~ /^received:/) { inrec = 1; r = $0 } } END { print r }' "$out" | tr -s ' \t\r' '   ')
note "$received"
if [[ $received == *"(Authenticated sender: $MAILLAB_USER1)"* ]]; then
  pass "Received-Header enthält (Authenticated sender: $MAILLAB_USER1)" "Received header contains (Authenticated sender: $MAILLAB_USER1)"
fi
hint "Der Received-Header nennt den angemeldeten Benutzer nicht. Setzen Sie smtpd_sasl_authenticated_header = yes – bei Missbrauch lässt sich so nachvollziehen, wer die Mail verschickt hat." \
     "The Received header does not name the authenticated user. Set smtpd_sasl_authenticated_header = yes – in case of abuse it shows who sent the mail."
fail "Kein „(Authenticated sender: $MAILLAB_USER1)“ im Received-Header" "No \"(Authenticated sender: $MAILLAB_USER1)\" in the Received header"
