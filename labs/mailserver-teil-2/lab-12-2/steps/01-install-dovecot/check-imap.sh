#!/bin/bash
# From partner: IMAP greeting on 143, STARTTLS in CAPABILITY, and a working TLS handshake.
# No login: checks never log in as the learner's users (the next step looks for their logins).
conn_open "$MAIL_HOST" 143
if ! imap_greeting; then
  hint "Auf $MAIL_HOST Port 143 antwortet kein IMAP-Server ($(conn_error | sed 's/.*: //')). Ist Dovecot (dovecot-imapd) installiert und gestartet?" \
       "No IMAP server answers on $MAIL_HOST port 143 ($(conn_error | sed 's/.*: //')). Is Dovecot (dovecot-imapd) installed and running?"
  fail "Kein IMAP auf Port 143" "No IMAP on port 143"
fi
imap_cmd a "CAPABILITY"
caps=$IMAP_REPLY
imap_cmd b "LOGOUT"
conn_close
if [[ ${caps^^} != *STARTTLS* ]]; then
  hint "Der IMAP-Server bietet kein STARTTLS an. Dovecot braucht ssl = yes und ein Zertifikat (10-ssl.conf)." \
       "The IMAP server does not offer STARTTLS. Dovecot needs ssl = yes and a certificate (10-ssl.conf)."
  fail "IMAP ohne STARTTLS" "IMAP without STARTTLS"
fi
if ! timeout "$NET_TIMEOUT" openssl s_client -brief -starttls imap -connect "$MAIL_HOST:143" </dev/null >"$CONN_ERR" 2>&1; then
  cat "$CONN_ERR"
  hint "STARTTLS wird angeboten, aber der TLS-Handshake scheitert: Zertifikat/Schlüssel in /etc/dovecot/conf.d/10-ssl.conf prüfen." \
       "STARTTLS is offered but the TLS handshake fails: check certificate/key in /etc/dovecot/conf.d/10-ssl.conf."
  fail "IMAP-STARTTLS-Handshake fehlgeschlagen" "IMAP STARTTLS handshake failed"
fi
note "$(grep -m1 -i 'protocol version' "$CONN_ERR")"
pass "IMAP antwortet und bietet STARTTLS an" "IMAP answers and offers STARTTLS"
