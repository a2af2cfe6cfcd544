#!/bin/bash
# What a learner does: add the test domain to mydestination, keep what is there, reload.
set -e
current=$(postconf -h mydestination)
if ! in_list "$MAILLAB_DOMAIN" "$(postconf -xh mydestination)"; then
  postconf -e "mydestination = $current, $MAILLAB_DOMAIN"
fi
postfix reload
