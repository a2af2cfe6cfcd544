#!/bin/bash
# What a learner does on partner: try to relay through mail with a telnet-style dialogue (here nc).
set -e
{
  sleep 0.3; printf 'EHLO partner\r\n'
  sleep 0.2; printf 'MAIL FROM:<test@partner>\r\n'
  sleep 0.2; printf 'RCPT TO:<jemand@anderswo.example>\r\n'
  sleep 0.3; printf 'QUIT\r\n'
  sleep 0.3
} | nc -w 5 mail 25 | tee /tmp/maillab-solve-relay.txt
grep -q "Relay access denied" /tmp/maillab-solve-relay.txt
