#!/bin/bash
# From partner (an outside client, not in mynetworks, not authenticated): relaying to a foreign
# domain must be refused. Needs port 25 open, so it fails on a fresh machine as well.
if ! smtp_open "$MAIL_HOST" 25; then
  hint "Port 25 ist von partner aus nicht erreichbar – zuerst den Schritt inet_interfaces erledigen." \
       "Port 25 is not reachable from partner – do the inet_interfaces step first."
  fail "Keine SMTP-Verbindung zu $MAIL_HOST" "No SMTP connection to $MAIL_HOST"
fi
smtp "EHLO $CHECK_HELO"
smtp "MAIL FROM:<$CHECK_FROM>" || fail "MAIL FROM wurde abgelehnt: $SMTP_REPLY" "MAIL FROM was rejected: $SMTP_REPLY"
smtp "RCPT TO:<someone@elsewhere.example>"
code=$SMTP_CODE reply=$(last_line "$SMTP_REPLY")
smtp "RSET"; smtp_quit >/dev/null
if [[ $code == [45]* && $reply == *"Relay access denied"* ]]; then
  pass "Relaying wird verweigert: $reply" "Relaying is refused: $reply"
fi
if [[ $code == 2* ]]; then
  hint "OFFENES RELAY: $MAIL_HOST nimmt von partner ($MAILLAB_PARTNER_IP) Mails an beliebige fremde Adressen an. Jeder Spammer im Netz könnte Ihren Server benutzen." \
       "OPEN RELAY: $MAIL_HOST accepts mail from partner ($MAILLAB_PARTNER_IP) to any foreign address. Every spammer on the net could use your server."
  hint "Steht partners Netz in mynetworks? Dort gehören nur localhost-Adressen hin – niemals fremde Adressen eintragen!" \
       "Is partner's network in mynetworks? Only localhost addresses belong there – never add foreign addresses!"
  fail "Offenes Relay: RCPT an someone@elsewhere.example wurde angenommen" "Open relay: RCPT to someone@elsewhere.example was accepted"
fi
fail "Unerwartete Antwort auf RCPT an eine fremde Domain: $reply" "Unexpected reply to RCPT to a foreign domain: $reply"
