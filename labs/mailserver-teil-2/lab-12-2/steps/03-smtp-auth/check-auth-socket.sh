#!/bin/bash
# On mail: the socket Postfix is configured to ask (smtpd_sasl_path, relative to the queue directory)
# is Dovecot's, and Dovecot's auth server answers there to the user postfix. The slide's
# private/auth with mode 0600 owned by postfix is the way shown; another path used consistently on
# both sides works as well, and so does Debian's sample listener (mode 0666).
mapfile -t v < <(pc smtpd_sasl_path queue_directory smtpd_sasl_type)
sasl_socket
path=$SASL_PATH sock=$SASL_SOCKET
if [ "$SASL_CHROOT_MISS" = 1 ]; then
  hint "smtpd_sasl_path = $path ist ein absoluter Pfad, aber smtpd läuft im chroot ${v[1]} und sucht dann ${v[1]}$path. Schreiben Sie ihn relativ zum Queue-Verzeichnis: smtpd_sasl_path = private/auth." \
       "smtpd_sasl_path = $path is an absolute path, but smtpd runs in the chroot ${v[1]} and then looks for ${v[1]}$path. Write it relative to the queue directory: smtpd_sasl_path = private/auth."
  fail "smtpd findet $path in seinem chroot nicht" "smtpd does not find $path in its chroot"
fi
if [[ $path == inet:* ]]; then
  hint "smtpd_sasl_path = $path verbindet Postfix über TCP mit Dovecot; die Folie verwendet den Unix-Socket private/auth." \
       "smtpd_sasl_path = $path connects Postfix to Dovecot over TCP; the slide uses the unix socket private/auth."
  fail "smtpd_sasl_path ist kein Unix-Socket: $path" "smtpd_sasl_path is not a unix socket: $path"
fi
if [ -S "$sock" ]; then
  read -r mode owner group < <(stat -c '%a %U %G' "$sock")
  note "$sock: mode $mode, owner $owner:$group"
  if dovecot_auth_alive "$sock" postfix; then
    case $mode in
      600|660) pass "Dovecot-Auth antwortet auf $sock ($mode, $owner:$group)" "Dovecot auth answers on $sock ($mode, $owner:$group)" ;;
      *) pass "Dovecot-Auth antwortet auf $sock ($mode, $owner:$group; sicherer wäre mode = 0600, user = postfix wie auf der Folie)" \
              "Dovecot auth answers on $sock ($mode, $owner:$group; mode = 0600, user = postfix as on the slide would be safer)" ;;
    esac
  fi
  if ! runuser -u postfix -- test -w "$sock" 2>/dev/null; then
    hint "$sock gehört $owner:$group mit Modus $mode – der Benutzer postfix darf ihn so nicht öffnen. Im unix_listener-Block: user = postfix, group = postfix, mode = 0600." \
         "$sock belongs to $owner:$group with mode $mode – the user postfix may not open it. In the unix_listener block: user = postfix, group = postfix, mode = 0600."
    fail "Postfix darf $sock nicht benutzen ($mode, $owner:$group)" "Postfix may not use $sock ($mode, $owner:$group)"
  fi
  hint "$sock ist nur noch eine alte Socket-Datei: Dovecot lauscht dort nicht (mehr). Steht der unix_listener noch in 10-master.conf, und wurde Dovecot danach neu gestartet?" \
       "$sock is only a leftover socket file: Dovecot does not listen there (any more). Is the unix_listener still in 10-master.conf, and was Dovecot restarted afterwards?"
  stale=yes
fi
if ! [ -e /run/dovecot/master.pid ]; then
  hint "Dovecot läuft nicht – nur ein laufender Dovecot legt den Socket an: systemctl start dovecot." \
       "Dovecot is not running – only a running Dovecot creates the socket: systemctl start dovecot."
fi
listeners=$(doveconf -n 2>/dev/null | awk '/unix_listener/ { print $2 }' | grep -vE '^(auth-(client|login|master|userdb|worker|token-secret)|token-login|login|imap-master|dict|anvil|config|log|stats-.*|doveadm-server|imap-urlauth.*|indexer.*|lmtp|pop3|director.*|ipc)' | tr '\n' ' ')
note "Dovecot unix_listeners besides its own: ${listeners:-none}"
if [[ " $listeners" == *" $sock "* ]]; then
  # The configuration names the right file, but the running Dovecot has not read it yet.
  hint "In Dovecots Konfiguration steht der unix_listener $sock, aber Dovecot hat sie seit der Änderung nicht neu gelesen: systemctl restart dovecot (oder doveadm reload)." \
       "Dovecot's configuration has the unix_listener $sock, but Dovecot has not read it since the change: systemctl restart dovecot (or doveadm reload)."
elif [ -n "$listeners" ]; then
  hint "Dovecot stellt einen Socket unter ${listeners% } bereit, Postfix fragt aber $sock (smtpd_sasl_path = $path, relativ zu ${v[1]}). Beide Seiten müssen denselben Pfad nennen – wie auf den Folien: unix_listener /var/spool/postfix/private/auth und smtpd_sasl_path = private/auth." \
       "Dovecot provides a socket at ${listeners% }, but Postfix asks $sock (smtpd_sasl_path = $path, relative to ${v[1]}). Both sides must name the same path – as on the slides: unix_listener /var/spool/postfix/private/auth and smtpd_sasl_path = private/auth."
else
  hint "smtpd_sasl_path = $path ist relativ zu ${v[1]}. In /etc/dovecot/conf.d/10-master.conf, Block service auth: unix_listener $sock { mode = 0600, user = postfix, group = postfix } – dann systemctl restart dovecot." \
       "smtpd_sasl_path = $path is relative to ${v[1]}. In /etc/dovecot/conf.d/10-master.conf, block service auth: unix_listener $sock { mode = 0600, user = postfix, group = postfix } – then systemctl restart dovecot."
fi
[ -n "${stale:-}" ] && fail "Dovecot antwortet nicht auf $sock" "Dovecot does not answer on $sock"
fail "$sock fehlt" "$sock is missing"
