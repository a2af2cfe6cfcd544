#!/bin/bash
# From outside: EHLO without TLS must not offer AUTH (smtpd_tls_auth_only = yes); after STARTTLS,
# AUTH must be offered with PLAIN or LOGIN and without ANONYMOUS (smtpd_sasl_security_options =
# noanonymous). Shares the evaluation's plain and STARTTLS dialogues with the other SMTP checks.
smtp_survey
smtp_session_or_fail later-step
if ehlo_has "$SV_SMTP_EHLO" AUTH; then
  hint "Postfix bietet AUTH schon ohne Verschlüsselung an – Passwörter gingen im Klartext übers Netz. Setzen Sie smtpd_tls_auth_only = yes." \
       "Postfix offers AUTH before encryption – passwords would cross the network in plain text. Set smtpd_tls_auth_only = yes."
  fail "AUTH wird vor STARTTLS angeboten" "AUTH is offered before STARTTLS"
fi
if ! ehlo_has "$SV_SMTP_EHLO" STARTTLS; then
  hint "Postfix bietet kein STARTTLS an: smtpd_tls_security_level muss may sein (nicht none), mit smtpd_tls_cert_file/smtpd_tls_key_file (Debian: das Snakeoil-Zertifikat)." \
       "Postfix does not offer STARTTLS: smtpd_tls_security_level must be may (not none), with smtpd_tls_cert_file/smtpd_tls_key_file (Debian: the snakeoil certificate)."
  fail "Postfix bietet kein STARTTLS an" "Postfix does not offer STARTTLS"
fi
smtp_tls_survey
if [ "$SV_TLS_OK" != 1 ]; then
  hint "Nach STARTTLS antwortet Postfix nicht auf EHLO (${SV_TLS_ERROR:-?}). Zertifikat und Schlüssel (smtpd_tls_cert_file, smtpd_tls_key_file) prüfen; Fehler stehen in /var/log/mail.log." \
       "After STARTTLS Postfix does not answer EHLO (${SV_TLS_ERROR:-?}). Check certificate and key (smtpd_tls_cert_file, smtpd_tls_key_file); errors are in /var/log/mail.log."
  fail "Keine Antwort auf EHLO nach STARTTLS" "No answer to EHLO after STARTTLS"
fi
mechs=$SV_TLS_MECHS
if [ -z "$mechs" ]; then
  hint "Auch nach STARTTLS bietet Postfix kein AUTH an: smtpd_sasl_auth_enable = yes und die Dovecot-Anbindung (smtpd_sasl_type = dovecot, smtpd_sasl_path) fehlen." \
       "Even after STARTTLS Postfix offers no AUTH: smtpd_sasl_auth_enable = yes and the Dovecot connection (smtpd_sasl_type = dovecot, smtpd_sasl_path) are missing."
  fail "Nach STARTTLS wird kein AUTH angeboten" "No AUTH offered after STARTTLS"
fi
note "AUTH mechanisms after STARTTLS: $mechs"
if [[ " $mechs " == *" ANONYMOUS "* ]]; then
  hint "ANONYMOUS wird angeboten – das entspricht keiner Anmeldung. smtpd_sasl_security_options = noanonymous setzen." \
       "ANONYMOUS is offered – that is no authentication at all. Set smtpd_sasl_security_options = noanonymous."
  fail "Anonyme Anmeldung wird angeboten" "Anonymous authentication is offered"
fi
if [[ " $mechs " != *" PLAIN "* && " $mechs " != *" LOGIN "* ]]; then
  fail "Weder PLAIN noch LOGIN angeboten (angeboten: $mechs)" "Neither PLAIN nor LOGIN offered (offered: $mechs)"
fi
pass "AUTH nur nach STARTTLS: $mechs" "AUTH only after STARTTLS: $mechs"
