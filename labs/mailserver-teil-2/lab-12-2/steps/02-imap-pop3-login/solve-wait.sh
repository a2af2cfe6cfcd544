#!/bin/bash
# On mail: wait until Dovecot has logged both sessions' logout (with what was read).
for _ in $(seq 40); do
  s=$(dovecot_sessions)
  grep -qE "^imap $MAILLAB_USER1 tls [1-9]" <<<"$s" && grep -qE "^pop3 $MAILLAB_USER1 tls [1-9]" <<<"$s" && exit 0
  sleep 0.25
done
echo "no IMAP and POP3 session of $MAILLAB_USER1 from partner with a mail read in mail.log" >&2
dovecot_sessions >&2
exit 1
