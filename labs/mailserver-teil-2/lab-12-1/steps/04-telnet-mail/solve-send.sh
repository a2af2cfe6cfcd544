#!/bin/bash
# What a learner does on partner: a hand-typed SMTP dialogue (as with telnet), here through nc.
set -e
{
  sleep 0.3; printf 'HELO partner\r\n'
  sleep 0.2; printf 'MAIL FROM:<%s@%s>\r\n' "$MAILLAB_USER2" "$MAILLAB_DOMAIN"
  sleep 0.2; printf 'RCPT TO:<%s@%s>\r\n' "$MAILLAB_USER1" "$MAILLAB_DOMAIN"
  sleep 0.2; printf 'DATA\r\n'
  sleep 0.2; printf 'Subject: Hallo von partner\r\n\r\nDiese Mail kommt per telnet von partner.\r\n.\r\n'
  sleep 0.4; printf 'QUIT\r\n'
  sleep 0.3
} | nc -w 5 mail 25 | tee /tmp/maillab-solve-telnet.txt
grep -q "queued as" /tmp/maillab-solve-telnet.txt
