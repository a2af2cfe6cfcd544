#!/bin/bash
# What a learner does on partner: log in by IMAP with imtest (STARTTLS), open the inbox, read the mail.
set -o pipefail
printf 'a1 SELECT INBOX\r\na2 FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])\r\na3 LOGOUT\r\n' |
  timeout 30 imtest -t "" -a "$MAILLAB_USER1" -w "$MAILLAB_PASSWORD1" -m plain mail | tee /tmp/maillab-solve-imap.txt
grep -q '^a1 OK' /tmp/maillab-solve-imap.txt
