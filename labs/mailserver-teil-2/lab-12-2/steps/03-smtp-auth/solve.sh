#!/bin/bash
# What a learner does: the main.cf and 10-master.conf parts from the slides, then restart/reload.
set -e
postconf -e \
  "smtpd_tls_auth_only = yes" \
  "smtpd_sasl_auth_enable = yes" \
  "smtpd_sasl_type = dovecot" \
  "smtpd_sasl_path = private/auth" \
  "smtpd_sasl_security_options = noanonymous" \
  "smtpd_sasl_authenticated_header = yes" \
  "smtpd_recipient_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination"
f=/etc/dovecot/conf.d/10-master.conf
if ! grep -qE '^\s*unix_listener\s+/var/spool/postfix/private/auth' "$f"; then
  # Debian's file has the block commented out under "# Postfix smtp-auth": enable it as on the slide.
  perl -0pi -e 's|^([ \t]*)#unix_listener /var/spool/postfix/private/auth \{\n[ \t]*#[ \t]*mode = 0666\n[ \t]*#\}|${1}unix_listener /var/spool/postfix/private/auth {\n${1}  mode = 0600\n${1}  user = postfix\n${1}  group = postfix\n${1}}|m' "$f"
fi
grep -qE '^\s*unix_listener\s+/var/spool/postfix/private/auth' "$f" || { echo "could not add the unix_listener to $f" >&2; exit 1; }
systemctl restart dovecot 2>/dev/null || service dovecot restart
for _ in $(seq 50); do [ -S /var/spool/postfix/private/auth ] && break; sleep 0.2; done
[ -S /var/spool/postfix/private/auth ] || { echo "no socket /var/spool/postfix/private/auth after restarting Dovecot" >&2; exit 1; }
postfix reload
