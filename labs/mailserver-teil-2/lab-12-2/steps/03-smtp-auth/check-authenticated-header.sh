#!/bin/bash
# On mail: smtpd_sasl_authenticated_header = yes as Postfix uses it. Its effect is a line in the
# Received header of an authenticated mail; a check would have to send a mail to see it, and checks
# send none. The learner's own smtptest mail of the next step shows it, and that step looks for it.
value=$(pc smtpd_sasl_authenticated_header)
if [ "$value" = yes ]; then
  pass "smtpd_sasl_authenticated_header = yes: der angemeldete Benutzer kommt in den Received-Header" \
       "smtpd_sasl_authenticated_header = yes: the authenticated user goes into the Received header"
fi
hint "smtpd_sasl_authenticated_header = ${value:-no}: Setzen Sie es auf yes (main.cf, dann postfix reload) – bei Missbrauch lässt sich so nachvollziehen, wer die Mail verschickt hat." \
     "smtpd_sasl_authenticated_header = ${value:-no}: set it to yes (main.cf, then postfix reload) – in case of abuse it shows who sent the mail."
fail "smtpd_sasl_authenticated_header ist nicht yes" "smtpd_sasl_authenticated_header is not yes"
