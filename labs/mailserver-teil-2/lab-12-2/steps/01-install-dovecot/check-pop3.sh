#!/bin/bash
# From partner: POP3 greeting on 110, STLS in CAPA, and a working TLS handshake. No login.
conn_open "$MAIL_HOST" 110
if ! pop3_read; then
  hint "Auf $MAIL_HOST Port 110 antwortet kein POP3-Server ($(conn_error | sed 's/.*: //')). Ist Dovecot (dovecot-pop3d) installiert und gestartet?" \
       "No POP3 server answers on $MAIL_HOST port 110 ($(conn_error | sed 's/.*: //')). Is Dovecot (dovecot-pop3d) installed and running?"
  fail "Kein POP3 auf Port 110" "No POP3 on port 110"
fi
pop3_cmd "CAPA" multi
caps=$POP3_REPLY
pop3_cmd "QUIT"
conn_close
if [[ ${caps^^} != *STLS* ]]; then
  hint "Der POP3-Server bietet kein STLS (STARTTLS) an. Dovecot braucht ssl = yes und ein Zertifikat (10-ssl.conf)." \
       "The POP3 server does not offer STLS (STARTTLS). Dovecot needs ssl = yes and a certificate (10-ssl.conf)."
  fail "POP3 ohne STLS" "POP3 without STLS"
fi
if ! timeout "$NET_TIMEOUT" openssl s_client -brief -starttls pop3 -connect "$MAIL_HOST:110" </dev/null >"$CONN_ERR" 2>&1; then
  cat "$CONN_ERR"
  hint "STLS wird angeboten, aber der TLS-Handshake scheitert: Zertifikat/Schlüssel in /etc/dovecot/conf.d/10-ssl.conf prüfen." \
       "STLS is offered but the TLS handshake fails: check certificate/key in /etc/dovecot/conf.d/10-ssl.conf."
  fail "POP3-STLS-Handshake fehlgeschlagen" "POP3 STLS handshake failed"
fi
pass "POP3 antwortet und bietet STLS an" "POP3 answers and offers STLS"
