#!/bin/bash
# On mail: wait until Dovecot has logged the login.
for _ in $(seq 40); do
  mail_log | grep -qE "dovecot: (imap|pop3)-login: Login: user=<$MAILLAB_USER1>,.* rip=$MAILLAB_PARTNER_IP," && exit 0
  sleep 0.25
done
echo "no Dovecot login of $MAILLAB_USER1 from partner in mail.log" >&2
exit 1
