#!/bin/bash
# On mail, only after a check failed: is Dovecot installed, running, listening?
missing=""
for p in dovecot-imapd dovecot-pop3d; do
  [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == *" installed" ]] || missing+=" $p"
done
if [ -n "$missing" ]; then
  hint "Nicht installiert:$missing. Installieren Sie Dovecot mit: apt install dovecot-imapd dovecot-pop3d" \
       "Not installed:$missing. Install Dovecot with: apt install dovecot-imapd dovecot-pop3d"
  exit 0
fi
# A configuration Dovecot cannot read: doveconf says where, without starting anything.
conferr=$(doveconf -n 2>&1 >/dev/null | grep -m1 -iE 'error|fatal')
if [ -n "$conferr" ]; then
  hint "Dovecot kann seine Konfiguration nicht lesen: $conferr – korrigieren Sie die genannte Datei und Zeile, dann systemctl restart dovecot." \
       "Dovecot cannot read its configuration: $conferr – fix the file and line it names, then systemctl restart dovecot."
fi
if ! doveadm service status >/dev/null 2>&1 && ! [ -e /run/dovecot/master.pid ]; then
  hint "Dovecot ist installiert, läuft aber nicht: systemctl start dovecot (Fehler stehen in /var/log/mail.log)." \
       "Dovecot is installed but not running: systemctl start dovecot (errors are in /var/log/mail.log)."
  exit 0
fi
if [ "$(doveconf -h ssl 2>/dev/null)" = no ]; then
  hint "ssl = no in Dovecots Konfiguration: dann gibt es kein STARTTLS, und ohne TLS nimmt Dovecot keine Passwörter an. Setzen Sie ssl = yes (Debians Voreinstellung, /etc/dovecot/conf.d/10-ssl.conf), dann systemctl restart dovecot." \
       "ssl = no in Dovecot's configuration: then there is no STARTTLS, and without TLS Dovecot takes no passwords. Set ssl = yes (Debian's default, /etc/dovecot/conf.d/10-ssl.conf), then systemctl restart dovecot."
fi
note "protocols = $(doveconf -h protocols 2>/dev/null); listening: $(listening_on 143 | tr '\n' ' ')/ $(listening_on 110 | tr '\n' ' ')"
if ! listens_outside 143 || ! listens_outside 110; then
  hint "Dovecot läuft, lauscht aber nicht auf 143 und 110 im Netz. Prüfen Sie protocols (doveconf protocols) und listen in /etc/dovecot/dovecot.conf." \
       "Dovecot runs but does not listen on 143 and 110 on the network. Check protocols (doveconf protocols) and listen in /etc/dovecot/dovecot.conf."
fi
