#!/bin/bash
# On mail: in user1's or user2's mailbox, a message whose topmost Received header shows partner's IP,
# an authenticated submission (ESMTPSA/ESMTPA) and "(Authenticated sender: <user1|user2>)".
# Checks never deliver into a mailbox, so such a message is the learner's.
hdr=$(mbox_received_headers "$(mailbox_of "$MAILLAB_USER1")" "$(mailbox_of "$MAILLAB_USER2")" |
  awk -v ip="[$MAILLAB_PARTNER_IP]" -v a1="(Authenticated sender: $MAILLAB_USER1)" -v a2="(Authenticated sender: $MAILLAB_USER2)" \
      -v helo="Received: from $CHECK_HELO " 'index($0, ip) && (index($0, a1) || index($0, a2)) && index($0, helo) != 1 { l = $0 } END { print l }')
if [ -n "$hdr" ]; then
  note "$hdr"
  who=${hdr#*Authenticated sender: }; who=${who%%)*}
  pass "Received-Header mit (Authenticated sender: $who) im Postfach gefunden" "Found a Received header with (Authenticated sender: $who) in the mailbox"
fi
if [ -n "$(partner_deliveries sasl)" ]; then
  hint "Ihre Mail kam angemeldet an, aber ohne „(Authenticated sender: …)“ im Received-Header: smtpd_sasl_authenticated_header = yes in main.cf und postfix reload – dann noch einmal senden." \
       "Your mail arrived authenticated, but without \"(Authenticated sender: …)\" in the Received header: smtpd_sasl_authenticated_header = yes in main.cf and postfix reload – then send again."
else
  hint "Senden Sie zuerst mit smtptest eine Mail an $MAILLAB_USER2@$MAILLAB_DOMAIN (siehe Aufgabe)." "First send a mail to $MAILLAB_USER2@$MAILLAB_DOMAIN with smtptest (see the task)."
fi
fail "Keine Mail mit (Authenticated sender: …) im Postfach von $MAILLAB_USER1 oder $MAILLAB_USER2" "No mail with (Authenticated sender: …) in the mailbox of $MAILLAB_USER1 or $MAILLAB_USER2"
