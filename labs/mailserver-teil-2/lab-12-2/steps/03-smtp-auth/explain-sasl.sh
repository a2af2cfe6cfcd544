#!/bin/bash
# On mail, only after a check failed: compare the SASL settings with the slides and find the gap.
mapfile -t v < <(pc smtpd_tls_auth_only smtpd_sasl_auth_enable smtpd_sasl_type smtpd_sasl_path smtpd_sasl_security_options smtpd_sasl_authenticated_header smtpd_recipient_restrictions smtpd_relay_restrictions queue_directory)
note "smtpd_tls_auth_only=${v[0]} smtpd_sasl_auth_enable=${v[1]} smtpd_sasl_type=${v[2]} smtpd_sasl_path=${v[3]} smtpd_sasl_security_options=${v[4]} smtpd_sasl_authenticated_header=${v[5]}"
note "smtpd_recipient_restrictions=${v[6]}; smtpd_relay_restrictions=${v[7]}"
# Postfix's own complaints first (a fatal error of smtpd, a socket it cannot reach, a certificate).
explain_postfix "$(changed_at postfix sasl dovecot)" && exit 0
if [ "${v[1]}" != yes ]; then
  missing=""
  [ "${v[0]}" = yes ] || missing+=" smtpd_tls_auth_only = yes,"
  missing+=" smtpd_sasl_auth_enable = yes,"
  [ "${v[2]}" = dovecot ] || missing+=" smtpd_sasl_type = dovecot,"
  # (another path that the unix_listener names as well works just as well)
  [ "${v[3]}" != smtpd ] || missing+=" smtpd_sasl_path = private/auth,"
  [[ ${v[4]} == *noanonymous* ]] || missing+=" smtpd_sasl_security_options = noanonymous,"
  [ "${v[5]}" = yes ] || missing+=" smtpd_sasl_authenticated_header = yes,"
  hint "SMTP-AUTH ist in Postfix noch nicht eingeschaltet. In main.cf fehlt:${missing%,} (siehe Folie „Authentifikation: Postfix main.cf“)." \
       "SMTP AUTH is not switched on in Postfix yet. main.cf lacks:${missing%,} (see the slide \"Authentifikation: Postfix main.cf\")."
  exit 0
fi
[ "${v[0]}" = yes ] || hint "smtpd_tls_auth_only = ${v[0]}: AUTH muss auf TLS-Verbindungen beschränkt sein → smtpd_tls_auth_only = yes" \
                            "smtpd_tls_auth_only = ${v[0]}: AUTH must be limited to TLS connections → smtpd_tls_auth_only = yes"
[ "${v[1]}" = yes ] || hint "smtpd_sasl_auth_enable = ${v[1]} → smtpd_sasl_auth_enable = yes" "smtpd_sasl_auth_enable = ${v[1]} → smtpd_sasl_auth_enable = yes"
[ "${v[2]}" = dovecot ] || hint "smtpd_sasl_type = ${v[2]} → smtpd_sasl_type = dovecot" "smtpd_sasl_type = ${v[2]} → smtpd_sasl_type = dovecot"
sasl_socket
path=$SASL_SOCKET
if [ "${v[1]}" = yes ] && [ "$SASL_CHROOT_MISS" != 1 ] && ! dovecot_auth_alive "$path" postfix; then
  hint "Postfix sucht den Dovecot-Socket unter $path (smtpd_sasl_path = ${v[3]}, relativ zu ${v[8]}), dort antwortet keiner. Der unix_listener in /etc/dovecot/conf.d/10-master.conf muss dieselbe Datei nennen – wie auf der Folie /var/spool/postfix/private/auth zu smtpd_sasl_path = private/auth." \
       "Postfix looks for Dovecot's socket at $path (smtpd_sasl_path = ${v[3]}, relative to ${v[8]}), nothing answers there. The unix_listener in /etc/dovecot/conf.d/10-master.conf must name the same file – as on the slide, /var/spool/postfix/private/auth for smtpd_sasl_path = private/auth."
fi
[[ ${v[4]} == *noanonymous* ]] || hint "smtpd_sasl_security_options = ${v[4]} → noanonymous" "smtpd_sasl_security_options = ${v[4]} → noanonymous"
[ "${v[5]}" = yes ] || hint "smtpd_sasl_authenticated_header = ${v[5]} → smtpd_sasl_authenticated_header = yes" "smtpd_sasl_authenticated_header = ${v[5]} → smtpd_sasl_authenticated_header = yes"
if [[ "${v[6]} ${v[7]}" != *permit_sasl_authenticated* ]]; then
  hint "permit_sasl_authenticated fehlt in smtpd_recipient_restrictions: angemeldete Clients dürfen dann nicht relayen." \
       "permit_sasl_authenticated is missing from smtpd_recipient_restrictions: authenticated clients then may not relay."
fi
if ! [ -e /run/dovecot/master.pid ]; then
  hint "Dovecot läuft nicht: systemctl start dovecot" "Dovecot is not running: systemctl start dovecot"
fi
tls=$(pc smtpd_tls_security_level)
if [ "$tls" = none ] || [ -z "$tls" ]; then
  hint "smtpd_tls_security_level = ${tls:-leer}: Postfix bietet so kein STARTTLS an, und mit smtpd_tls_auth_only = yes dann auch kein AUTH. Setzen Sie smtpd_tls_security_level = may (Debians Voreinstellung)." \
       "smtpd_tls_security_level = ${tls:-empty}: Postfix then offers no STARTTLS, and with smtpd_tls_auth_only = yes no AUTH either. Set smtpd_tls_security_level = may (Debian's default)."
fi
