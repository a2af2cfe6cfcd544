#!/bin/bash
# Gate "postfix-serving" (course.yaml): can Postfix's smtpd serve a connection right now? Runs on
# mail before any check talks SMTP to it. Probing a Postfix that cannot serve only makes it worse:
# each connection starts an smtpd that dies at once, and after that master throttles smtpd for
# service_throttle_time (60 s) - the checks would lock the learner out of their own server. So look
# first, predict the fatal errors smtpd would stop with, and explain in the lesson's words:
#  1. Postfix not running: a main.cf it cannot read (a restart then fails: "Job for postfix@-.service
#     failed"), or what mail.log says (e.g. an inet_interfaces address mail does not have);
#  2. main.cf or master.cf does not parse: postconf reports it without starting anything;
#  3. errors smtpd would stop with at its first client, predicted from the configuration:
#     a. no reject_unauth_destination (or another working instance) in the relay/recipient restrictions;
#     b. SMTP AUTH on, but no mechanism: smtpd_sasl_type not dovecot (Cyrus SASL has no modules
#        here), Dovecot's socket not answering to the user postfix, or noplaintext with Dovecot
#        offering only plain-text mechanisms;
#  4. smtpd is throttled after fatal errors: wait, or restart (a reload does not end it);
#  5. smtpd died with a fatal error since the configuration last changed.
since=$(changed_at postfix sasl dovecot)

if ! postfix_running; then
  # A configuration Postfix cannot read is the reason, whatever the log says since when: no Postfix
  # program starts with it (mail.log has postmulti's line from the restart; postconf says it now).
  if ! out=$(postconf -n 2>&1 >/dev/null); then
    last=$(grep -m1 -E 'fatal|error' <<<"$out")
    last=${last:-$out}
  else
    last=$(postfix_log_problems "$since" | grep -E ': (fatal|panic): ' | tail -n1)
  fi
  if [ -n "$last" ]; then
    note "$last"
    explain_postfix "$since"
    hint "Postfix läuft nicht. Den Grund nennen /var/log/mail.log und systemctl status postfix: „$last“. Beheben Sie ihn, dann systemctl start postfix." \
         "Postfix is not running. /var/log/mail.log and systemctl status postfix give the reason: \"$last\". Fix it, then systemctl start postfix."
  else
    hint "Postfix läuft nicht. Starten Sie es mit systemctl start postfix; warum es nicht läuft, steht in /var/log/mail.log." \
         "Postfix is not running. Start it with systemctl start postfix; /var/log/mail.log says why it stopped."
  fi
  fail "Postfix läuft nicht" "Postfix is not running"
fi

# 2. A line postconf cannot read stops every Postfix program the same way (postfix reload refuses,
# and each new smtpd exits); postconf says where. Warnings (an unknown parameter name) do not stop
# Postfix: the explain scripts mention them.
if ! out=$(postconf -n 2>&1 >/dev/null); then
  line=$(grep -m1 -E 'fatal|error' <<<"$out")
  line=${line:-$out}
  line=${line#*postconf: }
  file=main.cf
  [[ $line == *master.cf* ]] && file=master.cf
  note "$out"
  hint "Postfix kann /etc/postfix/$file nicht lesen: „$line“ (so steht es auch in /var/log/mail.log, sobald ein Postfix-Programm startet). Korrigieren Sie die genannte Zeile (Schreibweise in main.cf: name = wert), dann postfix reload." \
       "Postfix cannot read /etc/postfix/$file: \"$line\" (mail.log says the same as soon as a Postfix program starts). Fix the line it names (main.cf spelling: name = value), then postfix reload."
  fail "$file enthält einen Fehler: $line" "$file has an error: $line"
fi

mapfile -t v < <(pc smtpd_sasl_auth_enable smtpd_sasl_type smtpd_sasl_path queue_directory service_throttle_time \
  smtpd_relay_restrictions smtpd_recipient_restrictions smtpd_sasl_security_options smtpd_sasl_tls_security_options)

# 3a. smtpd refuses to run without a working relay restriction (it would be an open relay). What
# comes after a plain "permit" does not count: Postfix ignores it.
relay_guard() {
  local t
  for t in ${1//,/ }; do
    [ "$t" = permit ] && return 1
    [[ $t =~ ^(reject_unauth_destination|defer_unauth_destination|reject|defer|defer_if_permit|check_relay_domains)$ ]] && return 0
  done
  return 1
}
if ! relay_guard "${v[5]}" && ! relay_guard "${v[6]}"; then
  note "smtpd_relay_restrictions = ${v[5]}"
  note "smtpd_recipient_restrictions = ${v[6]}"
  after_permit='(^|[ ,])permit[ ,].*_unauth_destination'
  for p in 5 6; do
    if [[ ${v[$p]} =~ $after_permit ]]; then
      name=smtpd_relay_restrictions; [ $p = 6 ] && name=smtpd_recipient_restrictions
      hint "In $name steht reject_unauth_destination hinter „permit“ – was nach permit kommt, ignoriert Postfix (mail.log: „restriction \`reject_unauth_destination' after \`permit' is ignored“): permit erlaubt alles." \
           "In $name, reject_unauth_destination comes after \"permit\" – Postfix ignores what follows permit (mail.log: \"restriction \`reject_unauth_destination' after \`permit' is ignored\"): permit allows everything."
    fi
  done
  hint "So startet smtpd nicht: Postfix verlangt reject_unauth_destination (oder defer_unauth_destination) in smtpd_relay_restrictions oder smtpd_recipient_restrictions – ohne wäre es ein offenes Relay (mail.log beim ersten Client: „fatal: in parameter smtpd_relay_restrictions or smtpd_recipient_restrictions, specify at least one working instance of: reject_unauth_destination, …“). Schreiben Sie es ans Ende von smtpd_recipient_restrictions, wie auf der Folie: permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination. Dann postfix reload." \
       "smtpd does not start like this: Postfix requires reject_unauth_destination (or defer_unauth_destination) in smtpd_relay_restrictions or smtpd_recipient_restrictions – without it, it would be an open relay (mail.log at the first client: \"fatal: in parameter smtpd_relay_restrictions or smtpd_recipient_restrictions, specify at least one working instance of: reject_unauth_destination, …\"). Put it at the end of smtpd_recipient_restrictions, as on the slide: permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination. Then postfix reload."
  fail "Postfix würde smtpd nicht starten: keine Relay-Sperre (reject_unauth_destination) in den Restriktionen" \
       "Postfix would not start smtpd: no relay protection (reject_unauth_destination) in the restrictions"
fi

# 3b. SMTP AUTH on: smtpd asks its SASL back end for mechanisms at start and stops when there are none.
if [ "${v[0]}" = yes ]; then
  if [ "${v[1]}" != dovecot ]; then
    # Cyrus SASL (Postfix's default type) has no mechanism modules on this machine.
    if ! compgen -G "/usr/lib/*/sasl2/libplain.so*" >/dev/null; then
      hint "SMTP-AUTH ist eingeschaltet, aber smtpd_sasl_type = ${v[1]}: Postfix fragt dann Cyrus SASL, und das hat hier keine Anmeldeverfahren – smtpd bricht bei jedem Client ab (mail.log: „fatal: no SASL authentication mechanisms“). Setzen Sie smtpd_sasl_type = dovecot und smtpd_sasl_path = private/auth, wie auf der Folie." \
           "SMTP AUTH is on, but smtpd_sasl_type = ${v[1]}: Postfix then asks Cyrus SASL, which has no mechanisms here – smtpd stops at every client (mail.log: \"fatal: no SASL authentication mechanisms\"). Set smtpd_sasl_type = dovecot and smtpd_sasl_path = private/auth, as on the slide."
      fail "Postfix kann nicht bedienen: smtpd_sasl_type = ${v[1]} hat keine Anmeldeverfahren" "Postfix cannot serve: smtpd_sasl_type = ${v[1]} has no mechanisms"
    fi
  else
    sasl_socket
    path=$SASL_SOCKET
    if [ "$SASL_CHROOT_MISS" = 1 ]; then
      hint "smtpd_sasl_path = $SASL_PATH ist ein absoluter Pfad, aber smtpd läuft in einem chroot unter ${v[3]} (master.cf: smtp … y): Nach seiner ersten Sitzung sucht es ${v[3]}$SASL_PATH und bricht ab (mail.log: „fatal: no SASL authentication mechanisms“). Schreiben Sie den Pfad relativ zum Queue-Verzeichnis, wie auf der Folie: smtpd_sasl_path = private/auth." \
           "smtpd_sasl_path = $SASL_PATH is an absolute path, but smtpd runs in a chroot under ${v[3]} (master.cf: smtp … y): after its first session it looks for ${v[3]}$SASL_PATH and stops (mail.log: \"fatal: no SASL authentication mechanisms\"). Write the path relative to the queue directory, as on the slide: smtpd_sasl_path = private/auth."
      fail "Postfix kann nicht bedienen: smtpd findet $SASL_PATH in seinem chroot nicht" "Postfix cannot serve: smtpd does not find $SASL_PATH in its chroot"
    fi
    if [[ $path != inet:* ]] && ! dovecot_auth_alive "$path" postfix; then
      if [ -S "$path" ] && ! runuser -u postfix -- test -w "$path" 2>/dev/null; then
        read -r mode owner group < <(stat -c '%a %U %G' "$path")
        hint "Dovecots Socket $path gehört $owner:$group mit Modus $mode – der Benutzer postfix darf ihn nicht öffnen, also bricht jedes smtpd beim ersten Client ab (mail.log: „fatal: no SASL authentication mechanisms“). Im unix_listener-Block in /etc/dovecot/conf.d/10-master.conf: mode = 0600, user = postfix, group = postfix – dann systemctl restart dovecot." \
             "Dovecot's socket $path belongs to $owner:$group with mode $mode – the user postfix may not open it, so every smtpd stops at its first client (mail.log: \"fatal: no SASL authentication mechanisms\"). In the unix_listener block in /etc/dovecot/conf.d/10-master.conf: mode = 0600, user = postfix, group = postfix – then systemctl restart dovecot."
        fail "Postfix kann nicht bedienen: postfix darf den SASL-Socket $path nicht öffnen ($mode, $owner:$group)" "Postfix cannot serve: postfix may not open the SASL socket $path ($mode, $owner:$group)"
      fi
      hint "SMTP-AUTH ist eingeschaltet (smtpd_sasl_auth_enable = yes), aber unter $path antwortet kein Dovecot. So bricht jedes smtpd beim ersten Client ab (mail.log: „fatal: no SASL authentication mechanisms“) und Postfix nimmt gar keine Mails mehr an. Richten Sie zuerst den Socket in /etc/dovecot/conf.d/10-master.conf ein (systemctl restart dovecot) – oder schalten Sie SMTP-AUTH so lange wieder aus." \
           "SMTP AUTH is on (smtpd_sasl_auth_enable = yes), but no Dovecot answers at $path. Every smtpd then stops at its first client (mail.log: \"fatal: no SASL authentication mechanisms\") and Postfix accepts no mail at all. Set up the socket in /etc/dovecot/conf.d/10-master.conf first (systemctl restart dovecot) – or switch SMTP AUTH off until then."
      fail "Postfix kann nicht bedienen: der SASL-Socket $path antwortet nicht" "Postfix cannot serve: the SASL socket $path does not answer"
    fi
    # noplaintext rules out PLAIN and LOGIN; with only those in Dovecot's auth_mechanisms nothing is left.
    if [[ "${v[7]} ${v[8]}" == *noplaintext* ]]; then
      mechs=$(doveconf -h auth_mechanisms 2>/dev/null)
      if [ -z "$(tr ' ' '\n' <<<"${mechs,,}" | grep -vE '^(plain|login|)$')" ]; then
        hint "smtpd_sasl_security_options (oder smtpd_sasl_tls_security_options) enthält noplaintext: das verbietet PLAIN und LOGIN – und andere Verfahren bietet Dovecot nicht an (auth_mechanisms = ${mechs:-plain}). smtpd bricht dann nach STARTTLS ab (mail.log: „fatal: no SASL authentication mechanisms“). Wie auf der Folie genügt smtpd_sasl_security_options = noanonymous; die Verschlüsselung erzwingt smtpd_tls_auth_only = yes." \
             "smtpd_sasl_security_options (or smtpd_sasl_tls_security_options) contains noplaintext: that forbids PLAIN and LOGIN – and Dovecot offers no other mechanism (auth_mechanisms = ${mechs:-plain}). smtpd then stops after STARTTLS (mail.log: \"fatal: no SASL authentication mechanisms\"). As on the slide, smtpd_sasl_security_options = noanonymous is enough; smtpd_tls_auth_only = yes enforces the encryption."
        fail "Postfix kann nicht bedienen: noplaintext lässt keine Anmeldeverfahren übrig" "Postfix cannot serve: noplaintext leaves no authentication mechanism"
      fi
    fi
  fi
fi

# 4. Throttling and 5. fatal errors since master's last start (a restart ends the throttling, a
# reload does not).
throttle=${v[4]%s}
[[ $throttle =~ ^[0-9]+$ ]] || throttle=60
read -r tstamp fatal < <(mail_log | awk -v since="$(iso_utc "${since:-0}")" '
  /postfix\/master\[[0-9]+\]: daemon started/ { t = ""; f = ""; lastfatal = "" }
  /postfix\/smtpd\[[0-9]+\]: fatal: / { lastfatal = $0; if (substr($1, 1, 26) >= since) f = $0 }
  /postfix\/master\[[0-9]+\]: warning: .*smtpd: bad command startup -- throttling/ { t = substr($1, 1, 19); tf = lastfatal }
  END { if (t != "") { print t, tf } else if (f != "") { print "-", f } }')
if [ -n "${tstamp:-}" ] && [ "$tstamp" != - ]; then
  left=$(( $(date -u -d "${tstamp/T/ }" +%s) + throttle - EPOCHSECONDS ))
  if [ "$left" -gt 0 ]; then
    msg=${fatal#*postfix/smtpd\[*\]: }
    note "throttled since $tstamp after: $fatal"
    hint "Postfix hat smtpd nach Abstürzen für $throttle s gesperrt (mail.log: „bad command startup -- throttling“). Ursache laut mail.log: „${msg:-siehe /var/log/mail.log}“. Beheben Sie sie, dann systemctl restart postfix – postfix reload beendet die Sperre nicht. Oder warten Sie noch $left s." \
         "Postfix has throttled smtpd for $throttle s after crashes (mail.log: \"bad command startup -- throttling\"). The cause according to mail.log: \"${msg:-see /var/log/mail.log}\". Fix it, then systemctl restart postfix – postfix reload does not end the throttling. Or wait another $left s."
    echo "RETRY_AFTER: $left"
    fail "smtpd ist gedrosselt (noch $left s)" "smtpd is throttled ($left s left)"
  fi
fi
if [ "${tstamp:-}" = - ] && [ -n "${fatal:-}" ]; then
  msg=${fatal#*postfix/smtpd\[*\]: }
  note "$fatal"
  explain_postfix "$since"
  hint "smtpd ist mit einem Fehler abgebrochen (mail.log: „$msg“). Solange die Konfiguration so ist, kann Postfix keine Verbindung annehmen. Korrigieren Sie sie, dann systemctl restart postfix." \
       "smtpd stopped with an error (mail.log: \"$msg\"). As long as the configuration stays like this, Postfix cannot take a connection. Fix it, then systemctl restart postfix."
  fail "smtpd bricht ab: $msg" "smtpd stops: $msg"
fi
pass "Postfix kann Verbindungen annehmen" "Postfix can take connections"
