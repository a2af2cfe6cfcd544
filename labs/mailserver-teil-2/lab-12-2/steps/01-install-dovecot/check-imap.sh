#!/bin/bash
# From outside: IMAP greeting on 143, STARTTLS offered, and a working TLS handshake - one session.
# No login: checks never log in as the learner's users (the next step looks for their logins).
imap_survey
if [ "$SV_IMAP_CONNECT" != 1 ] || [[ $SV_IMAP_GREETING != "* OK"* ]]; then
  hint "Auf $MAIL_HOST Port 143 antwortet kein IMAP-Server (${SV_IMAP_ERROR:-${SV_IMAP_GREETING:-keine Begrüßung}}). Ist Dovecot (dovecot-imapd) installiert und gestartet?" \
       "No IMAP server answers on $MAIL_HOST port 143 (${SV_IMAP_ERROR:-${SV_IMAP_GREETING:-no greeting}}). Is Dovecot (dovecot-imapd) installed and running?"
  fail "Kein IMAP auf Port 143" "No IMAP on port 143"
fi
if [[ ${SV_IMAP_CAPS^^} != *STARTTLS* ]]; then
  hint "Der IMAP-Server bietet kein STARTTLS an. Dovecot braucht ssl = yes und ein Zertifikat (10-ssl.conf)." \
       "The IMAP server does not offer STARTTLS. Dovecot needs ssl = yes and a certificate (10-ssl.conf)."
  fail "IMAP ohne STARTTLS" "IMAP without STARTTLS"
fi
if [ "$SV_IMAP_TLS" != 1 ]; then
  hint "STARTTLS wird angeboten, aber der TLS-Handshake scheitert (${SV_IMAP_ERROR:-?}): Zertifikat/Schlüssel in /etc/dovecot/conf.d/10-ssl.conf prüfen." \
       "STARTTLS is offered but the TLS handshake fails (${SV_IMAP_ERROR:-?}): check certificate/key in /etc/dovecot/conf.d/10-ssl.conf."
  fail "IMAP-STARTTLS-Handshake fehlgeschlagen" "IMAP STARTTLS handshake failed"
fi
pass "IMAP antwortet und bietet STARTTLS an ($SV_IMAP_TLSINFO)" "IMAP answers and offers STARTTLS ($SV_IMAP_TLSINFO)"
