#!/bin/bash
# From outside: POP3 greeting on 110, STLS offered, and a working TLS handshake - one session. No login.
pop3_survey
if [ "$SV_POP3_CONNECT" != 1 ] || [[ $SV_POP3_GREETING != "+OK"* ]]; then
  hint "Auf $MAIL_HOST Port 110 antwortet kein POP3-Server (${SV_POP3_ERROR:-${SV_POP3_GREETING:-keine Begrüßung}}). Ist Dovecot (dovecot-pop3d) installiert und gestartet?" \
       "No POP3 server answers on $MAIL_HOST port 110 (${SV_POP3_ERROR:-${SV_POP3_GREETING:-no greeting}}). Is Dovecot (dovecot-pop3d) installed and running?"
  fail "Kein POP3 auf Port 110" "No POP3 on port 110"
fi
if [[ " ${SV_POP3_CAPS^^} " != *" STLS "* ]]; then
  hint "Der POP3-Server bietet kein STLS (STARTTLS) an. Dovecot braucht ssl = yes und ein Zertifikat (10-ssl.conf)." \
       "The POP3 server does not offer STLS (STARTTLS). Dovecot needs ssl = yes and a certificate (10-ssl.conf)."
  fail "POP3 ohne STLS" "POP3 without STLS"
fi
if [ "$SV_POP3_TLS" != 1 ]; then
  hint "STLS wird angeboten, aber der TLS-Handshake scheitert (${SV_POP3_ERROR:-?}): Zertifikat/Schlüssel in /etc/dovecot/conf.d/10-ssl.conf prüfen." \
       "STLS is offered but the TLS handshake fails (${SV_POP3_ERROR:-?}): check certificate/key in /etc/dovecot/conf.d/10-ssl.conf."
  fail "POP3-STLS-Handshake fehlgeschlagen" "POP3 STLS handshake failed"
fi
pass "POP3 antwortet und bietet STLS an ($SV_POP3_TLSINFO)" "POP3 answers and offers STLS ($SV_POP3_TLSINFO)"
