#!/bin/bash
# From outside (the probe, maillab-check in mail.log): does mail answer on port 25 with a 220 greeting?
smtp_survey
smtp_session_or_fail
pass "Postfix antwortet von außen: $SV_SMTP_BANNER" "Postfix answers from outside: $SV_SMTP_BANNER"
