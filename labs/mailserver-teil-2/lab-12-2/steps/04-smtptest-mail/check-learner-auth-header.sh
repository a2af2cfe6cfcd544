#!/bin/bash
# On mail: in a mailbox of user1 or user2 (/var/mail, ~/mbox where `mail` keeps read mail, ~/Maildir),
# a message whose topmost Received header names partner's address, a submission with TLS and AUTH
# (ESMTPSA) and "(Authenticated sender: <user1|user2>)". Checks never deliver, so such a message is
# the learner's. Kept once found: reading or deleting the mail later does not undo it.
hdrs=$(received_headers "$MAILLAB_USER1" "$MAILLAB_USER2" | awk -v ip="[$MAILLAB_PARTNER_IP]" 'index($0, ip)')
hdr=$(awk -v a1="(Authenticated sender: $MAILLAB_USER1)" -v a2="(Authenticated sender: $MAILLAB_USER2)" \
  '(index($0, a1) || index($0, a2)) && / with ESMTPSA / { l = $0 } END { print l }' <<<"$hdrs")
if [ -n "$hdr" ]; then
  note "$hdr"
  who=${hdr#*Authenticated sender: }; who=${who%%)*}
  pass "Received-Header mit (Authenticated sender: $who) und ESMTPSA im Postfach gefunden" "Found a Received header with (Authenticated sender: $who) and ESMTPSA in the mailbox"
fi
if grep -q "Authenticated sender:" <<<"$hdrs"; then
  hint "Die Mail kam angemeldet, aber ohne TLS an (ESMTPA statt ESMTPSA). Senden Sie mit smtptest -t \"\" (STARTTLS)." \
       "The mail arrived authenticated but without TLS (ESMTPA instead of ESMTPSA). Send with smtptest -t \"\" (STARTTLS)."
elif [ -n "$(partner_deliveries sasl)" ]; then
  hint "Ihre Mail kam angemeldet an, aber ohne „(Authenticated sender: …)“ im Received-Header: smtpd_sasl_authenticated_header = yes in main.cf und postfix reload – dann noch einmal senden." \
       "Your mail arrived authenticated, but without \"(Authenticated sender: …)\" in the Received header: smtpd_sasl_authenticated_header = yes in main.cf and postfix reload – then send again."
else
  hint "Senden Sie zuerst mit smtptest eine Mail an $MAILLAB_USER2@$MAILLAB_DOMAIN (siehe Aufgabe)." "First send a mail to $MAILLAB_USER2@$MAILLAB_DOMAIN with smtptest (see the task)."
fi
fail "Keine Mail mit (Authenticated sender: …) im Postfach von $MAILLAB_USER1 oder $MAILLAB_USER2" "No mail with (Authenticated sender: …) in the mailbox of $MAILLAB_USER1 or $MAILLAB_USER2"
