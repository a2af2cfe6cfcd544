#!/bin/bash
# What a learner does: install the Dovecot packages (from the local apt cache, no network needed).
set -e
export DEBIAN_FRONTEND=noninteractive
apt-get install -y dovecot-imapd dovecot-pop3d
if ! [ -e /run/dovecot/master.pid ]; then
  systemctl start dovecot 2>/dev/null || service dovecot start
fi
for _ in $(seq 100); do
  listens_outside 143 && listens_outside 110 && exit 0
  sleep 0.2
done
echo "Dovecot does not listen on 143/110 after the installation" >&2
exit 1
