#!/bin/bash
# On mail: wait until the mail from partner has been delivered (local delivery takes a moment).
for _ in $(seq 60); do
  [ -n "$(partner_deliveries)" ] && exit 0
  sleep 0.25
done
echo "no delivery from partner to $MAILLAB_USER1/$MAILLAB_USER2 in mail.log after 15 s" >&2
tail -n 20 "$MAIL_LOG" >&2
exit 1
