#!/bin/bash
# From outside (not in mynetworks, not authenticated): relaying to a foreign domain must be refused.
# Needs port 25 open, so it fails on a fresh machine as well.
smtp_survey
smtp_session_or_fail later-step
[[ $SV_SMTP_MAIL_CODE == 2* ]] || fail "MAIL FROM wurde abgelehnt: $SV_SMTP_MAIL_REPLY" "MAIL FROM was rejected: $SV_SMTP_MAIL_REPLY"
rcpt=someone@elsewhere.example
code=${SV_RCPT_CODE[$rcpt]} reply=${SV_RCPT_REPLY[$rcpt]}
if [[ $code == [45]* && $reply == *"Relay access denied"* ]]; then
  pass "Relaying wird verweigert: $reply" "Relaying is refused: $reply"
fi
if [[ $code == 2* ]]; then
  hint "OFFENES RELAY: $MAIL_HOST nimmt von außen Mails an beliebige fremde Adressen an. Jeder Spammer im Netz könnte Ihren Server benutzen." \
       "OPEN RELAY: $MAIL_HOST accepts mail from outside to any foreign address. Every spammer on the net could use your server."
  hint "Steht das Netz $MAILLAB_SUBNET (oder mehr) in mynetworks? Dort gehören nur localhost-Adressen hin – niemals fremde Adressen eintragen!" \
       "Is the network $MAILLAB_SUBNET (or more) in mynetworks? Only localhost addresses belong there – never add foreign addresses!"
  fail "Offenes Relay: RCPT an $rcpt wurde angenommen" "Open relay: RCPT to $rcpt was accepted"
fi
fail "Unerwartete Antwort auf RCPT an eine fremde Domain: ${reply:-keine}" "Unexpected reply to RCPT to a foreign domain: ${reply:-none}"
