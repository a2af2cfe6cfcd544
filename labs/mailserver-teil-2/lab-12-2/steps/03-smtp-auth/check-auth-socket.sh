#!/bin/bash
# On mail: Dovecot's auth socket for Postfix at /var/spool/postfix/private/auth, owned by postfix,
# mode 0600 (or 0660), as in the slide "Authentifikation: Dovecot".
sock=/var/spool/postfix/private/auth
if [ -S "$sock" ]; then
  read -r mode owner group < <(stat -c '%a %U %G' "$sock")
  note "$sock: mode $mode, owner $owner:$group"
  if [ "$owner" != postfix ]; then
    hint "$sock gehört $owner – Postfix (Benutzer postfix) darf ihn so nicht benutzen. Im unix_listener-Block: user = postfix, group = postfix." \
         "$sock belongs to $owner – Postfix (user postfix) can't use it like that. In the unix_listener block: user = postfix, group = postfix."
    fail "Auth-Socket gehört $owner:$group statt postfix" "Auth socket belongs to $owner:$group instead of postfix"
  fi
  case $mode in
    600|660) ;;
    *)
      hint "Der Socket hat die Rechte $mode: jeder lokale Benutzer könnte darüber Passwörter durchprobieren. mode = 0600 setzen." \
           "The socket has mode $mode: every local user could try passwords through it. Set mode = 0600."
      fail "Auth-Socket hat Modus $mode statt 0600" "Auth socket has mode $mode instead of 0600" ;;
  esac
  if dovecot_auth_alive "$sock" postfix; then
    pass "Dovecot-Auth antwortet auf $sock ($mode, $owner:$group)" "Dovecot auth answers on $sock ($mode, $owner:$group)"
  fi
  hint "$sock ist nur noch eine alte Socket-Datei: Dovecot lauscht dort nicht (mehr). Steht der unix_listener noch in 10-master.conf, und wurde Dovecot danach neu gestartet?" \
       "$sock is only a leftover socket file: Dovecot does not listen there (any more). Is the unix_listener still in 10-master.conf, and was Dovecot restarted afterwards?"
  stale=yes
fi
if ! [ -e /run/dovecot/master.pid ]; then
  hint "Dovecot läuft nicht – nur ein laufender Dovecot legt den Socket an: systemctl start dovecot." \
       "Dovecot is not running – only a running Dovecot creates the socket: systemctl start dovecot."
fi
listeners=$(doveconf -n 2>/dev/null | awk '/unix_listener/ { print $2 }' | tr '\n' ' ')
note "Dovecot unix_listeners: $listeners"
others=$(find /var/spool/postfix /run/dovecot /etc/dovecot -xdev -type s -name 'auth*' 2>/dev/null | grep -vxF "$sock" | grep -vE '^/run/dovecot/(auth-(client|login|master|userdb|worker|token-secret)|token-login)' | tr '\n' ' ')
if [ -n "$others" ]; then
  hint "Es gibt einen Auth-Socket an anderer Stelle: $others. smtpd_sasl_path = private/auth ist relativ zu /var/spool/postfix; der unix_listener in 10-master.conf muss /var/spool/postfix/private/auth heißen." \
       "There is an auth socket elsewhere: $others. smtpd_sasl_path = private/auth is relative to /var/spool/postfix; the unix_listener in 10-master.conf must be /var/spool/postfix/private/auth."
else
  hint "smtpd_sasl_path = private/auth ist relativ zu /var/spool/postfix. In /etc/dovecot/conf.d/10-master.conf, Block service auth: unix_listener /var/spool/postfix/private/auth { mode = 0600, user = postfix, group = postfix } – dann systemctl restart dovecot." \
       "smtpd_sasl_path = private/auth is relative to /var/spool/postfix. In /etc/dovecot/conf.d/10-master.conf, block service auth: unix_listener /var/spool/postfix/private/auth { mode = 0600, user = postfix, group = postfix } – then systemctl restart dovecot."
fi
[ -n "${stale:-}" ] && fail "Dovecot antwortet nicht auf $sock" "Dovecot does not answer on $sock"
fail "$sock fehlt" "$sock is missing"
