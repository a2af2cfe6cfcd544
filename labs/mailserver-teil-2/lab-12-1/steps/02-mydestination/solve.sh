#!/bin/bash
# What a learner does: add the test domain to mydestination, keep what is there, reload.
set -e
current=$(postconf -h mydestination)
if ! tr ', ' '\n\n' <<<"$(postconf -xh mydestination)" | grep -qixF "$MAILLAB_DOMAIN"; then
  postconf -e "mydestination = $current, $MAILLAB_DOMAIN"
fi
postfix reload
