#!/bin/bash
# From partner: EHLO without TLS must not offer AUTH (smtpd_tls_auth_only = yes); after STARTTLS,
# AUTH must be offered with PLAIN or LOGIN, without ANONYMOUS, and AUTH ANONYMOUS must be refused.
smtp_open "$MAIL_HOST" 25 || fail "Keine SMTP-Verbindung zu $MAIL_HOST" "No SMTP connection to $MAIL_HOST"
smtp "EHLO $CHECK_HELO"
plain_auth=no starttls=no
smtp_ehlo_has AUTH && plain_auth=yes
smtp_ehlo_has STARTTLS && starttls=yes
smtp_quit
if [ $plain_auth = yes ]; then
  hint "Postfix bietet AUTH schon ohne Verschlüsselung an – Passwörter gingen im Klartext übers Netz. Setzen Sie smtpd_tls_auth_only = yes." \
       "Postfix offers AUTH before encryption – passwords would cross the network in plain text. Set smtpd_tls_auth_only = yes."
  fail "AUTH wird vor STARTTLS angeboten" "AUTH is offered before STARTTLS"
fi
[ $starttls = yes ] || fail "Postfix bietet kein STARTTLS an (smtpd_tls_security_level = may, Zertifikat?)" "Postfix does not offer STARTTLS (smtpd_tls_security_level = may, certificate?)"

smtp_open_starttls "$MAIL_HOST" 25
if ! smtp "EHLO $CHECK_HELO"; then
  hint "Nach STARTTLS antwortet Postfix nicht auf EHLO ($(conn_error)). Oft ist smtpd beim Zugriff auf den SASL-Socket abgestürzt: siehe /var/log/mail.log." \
       "After STARTTLS Postfix does not answer EHLO ($(conn_error)). Often smtpd died accessing the SASL socket: see /var/log/mail.log."
  fail "Keine Antwort auf EHLO nach STARTTLS" "No answer to EHLO after STARTTLS"
fi
mechs=$(smtp_auth_mechs)
if [ -z "$mechs" ]; then
  smtp_quit
  hint "Auch nach STARTTLS bietet Postfix kein AUTH an: smtpd_sasl_auth_enable = yes und die Dovecot-Anbindung (smtpd_sasl_type, smtpd_sasl_path) fehlen oder funktionieren nicht." \
       "Even after STARTTLS Postfix offers no AUTH: smtpd_sasl_auth_enable = yes and the Dovecot connection (smtpd_sasl_type, smtpd_sasl_path) are missing or not working."
  fail "Nach STARTTLS wird kein AUTH angeboten" "No AUTH offered after STARTTLS"
fi
note "AUTH mechanisms after STARTTLS: $mechs"
if [[ " $mechs " == *" ANONYMOUS "* ]]; then
  smtp_quit
  hint "ANONYMOUS wird angeboten – das entspricht keiner Anmeldung. smtpd_sasl_security_options = noanonymous setzen." \
       "ANONYMOUS is offered – that is no authentication at all. Set smtpd_sasl_security_options = noanonymous."
  fail "Anonyme Anmeldung wird angeboten" "Anonymous authentication is offered"
fi
if smtp "AUTH ANONYMOUS"; then
  smtp "*" >/dev/null
  smtp_quit
  hint "AUTH ANONYMOUS wird nicht abgewiesen. smtpd_sasl_security_options = noanonymous setzen." \
       "AUTH ANONYMOUS is not refused. Set smtpd_sasl_security_options = noanonymous."
  fail "AUTH ANONYMOUS nicht abgewiesen" "AUTH ANONYMOUS not refused"
fi
smtp_quit
if [[ " $mechs " != *" PLAIN "* && " $mechs " != *" LOGIN "* ]]; then
  fail "Weder PLAIN noch LOGIN angeboten (angeboten: $mechs)" "Neither PLAIN nor LOGIN offered (offered: $mechs)"
fi
pass "AUTH nur nach STARTTLS: $mechs" "AUTH only after STARTTLS: $mechs"
