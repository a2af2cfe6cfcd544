#!/bin/bash
# What a learner does on partner: log in by IMAP with imtest (STARTTLS), read the mail, log out;
# then the same by POP3 with pop3test (STLS): list and read it, quit.
set -o pipefail
printf 'a1 SELECT INBOX\r\na2 FETCH 1 BODY[]\r\na3 LOGOUT\r\n' |
  timeout 30 imtest -t "" -a "$MAILLAB_USER1" -w "$MAILLAB_PASSWORD1" -m plain mail | tee /tmp/maillab-solve-imap.txt
grep -q '^a2 OK' /tmp/maillab-solve-imap.txt
printf 'LIST\r\nRETR 1\r\nQUIT\r\n' |
  timeout 30 pop3test -t "" -a "$MAILLAB_USER1" -w "$MAILLAB_PASSWORD1" mail | tee /tmp/maillab-solve-pop3.txt
grep -q '^+OK' /tmp/maillab-solve-pop3.txt
