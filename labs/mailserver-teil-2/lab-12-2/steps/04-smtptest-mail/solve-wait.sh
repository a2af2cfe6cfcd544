#!/bin/bash
# On mail: wait until the authenticated mail from partner has been delivered.
for _ in $(seq 60); do
  [ -n "$(partner_deliveries sasl)" ] && exit 0
  sleep 0.25
done
echo "no authenticated delivery from partner in mail.log after 15 s" >&2
tail -n 20 "$MAIL_LOG" >&2
exit 1
