#!/bin/bash
# What a learner does: open Postfix to all interfaces (IPv4 and IPv6 where present) and restart it.
set -e
postconf -e "inet_interfaces = all" "inet_protocols = all"
systemctl restart postfix 2>/dev/null || service postfix restart 2>/dev/null || { postfix stop 2>/dev/null || true; postfix start; }
for _ in $(seq 50); do
  listens_outside 25 && exit 0
  sleep 0.2
done
echo "Postfix does not listen on port 25 after the restart" >&2
exit 1
