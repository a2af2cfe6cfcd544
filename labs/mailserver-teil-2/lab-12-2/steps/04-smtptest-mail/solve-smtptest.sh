#!/bin/bash
# What a learner does on partner: smtptest with STARTTLS and AUTH as user1, then a mail to user2.
set -o pipefail
{
  sleep 1.5
  printf 'MAIL FROM:<%s@%s>\r\n' "$MAILLAB_USER1" "$MAILLAB_DOMAIN"; sleep 0.3
  printf 'RCPT TO:<%s@%s>\r\n' "$MAILLAB_USER2" "$MAILLAB_DOMAIN"; sleep 0.3
  printf 'DATA\r\n'; sleep 0.3
  printf 'Subject: Gruss mit Anmeldung\r\n\r\nDiese Mail kommt per smtptest, angemeldet als %s.\r\n.\r\n' "$MAILLAB_USER1"; sleep 0.8
  printf 'QUIT\r\n'; sleep 0.3
} | timeout 30 smtptest -t "" -a "$MAILLAB_USER1" -u "$MAILLAB_USER1" -w "$MAILLAB_PASSWORD1" mail | tee /tmp/maillab-solve-smtptest.txt
grep -q "queued as" /tmp/maillab-solve-smtptest.txt
