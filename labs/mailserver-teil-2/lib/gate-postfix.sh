#!/bin/bash
# Gate "postfix-serving" (course.yaml): can Postfix's smtpd serve a connection right now? Runs on
# mail before any check talks SMTP to it. Probing a Postfix that cannot serve only makes it worse:
# each connection starts an smtpd that dies at once, and after a few of those master throttles
# smtpd for service_throttle_time (60 s) - the checks would lock the learner out of their own
# server. So look first, and explain in the lesson's words:
#  1. Postfix not running;
#  2. main.cf (or master.cf) does not parse: postconf reports it without starting anything;
#  3. SMTP AUTH through Dovecot is on, but Dovecot's socket does not answer: every smtpd would
#     exit with "no SASL authentication mechanisms";
#  4. smtpd is throttled after fatal errors: wait, or restart (a reload does not end it);
#  5. smtpd died with a fatal error since the configuration last changed.
since=$(changed_at postfix sasl dovecot)

if ! postfix_running; then
  hint "Postfix läuft nicht. Starten Sie es mit systemctl start postfix; warum es nicht läuft, steht in /var/log/mail.log." \
       "Postfix is not running. Start it with systemctl start postfix; /var/log/mail.log says why it stopped."
  fail "Postfix läuft nicht" "Postfix is not running"
fi

if ! out=$(postconf -n 2>&1 >/dev/null) || [ -n "$out" ]; then
  line=$(grep -m1 -E 'fatal|warning|error' <<<"$out")
  if [ -n "$line" ]; then
    note "$out"
    hint "postconf meldet: ${line} – so bricht jeder Postfix-Dienst beim Start ab. Korrigieren Sie die genannte Zeile (Schreibweise: name = wert) und laden Sie Postfix neu (postfix reload)." \
         "postconf reports: ${line} – every Postfix service stops at start with that. Fix the line it names (spelling: name = value) and reload Postfix (postfix reload)."
    fail "main.cf enthält einen Fehler: $line" "main.cf has an error: $line"
  fi
fi

mapfile -t v < <(pc smtpd_sasl_auth_enable smtpd_sasl_type smtpd_sasl_path queue_directory service_throttle_time)
if [ "${v[0]}" = yes ] && [ "${v[1]}" = dovecot ]; then
  path=${v[2]}
  [[ $path == /* || $path == inet:* ]] || path="${v[3]}/$path"
  if [[ $path != inet:* ]] && ! dovecot_auth_alive "$path" postfix; then
    hint "SMTP-AUTH ist eingeschaltet (smtpd_sasl_auth_enable = yes), aber unter $path antwortet kein Dovecot. So bricht jedes smtpd beim ersten Client ab (mail.log: „fatal: no SASL authentication mechanisms“) und Postfix nimmt gar keine Mails mehr an. Richten Sie zuerst den Socket in /etc/dovecot/conf.d/10-master.conf ein (systemctl restart dovecot) – oder schalten Sie SMTP-AUTH so lange wieder aus." \
         "SMTP AUTH is on (smtpd_sasl_auth_enable = yes), but no Dovecot answers at $path. Every smtpd then stops at its first client (mail.log: \"fatal: no SASL authentication mechanisms\") and Postfix accepts no mail at all. Set up the socket in /etc/dovecot/conf.d/10-master.conf first (systemctl restart dovecot) – or switch SMTP AUTH off until then."
    fail "Postfix kann nicht bedienen: der SASL-Socket $path antwortet nicht" "Postfix cannot serve: the SASL socket $path does not answer"
  fi
fi

# Throttling and fatal errors since master's last start (a restart ends the throttling, a reload does not).
throttle=${v[4]%s}
[[ $throttle =~ ^[0-9]+$ ]] || throttle=60
read -r tstamp fatal < <(mail_log | awk -v since="$(iso_utc "${since:-0}")" '
  /postfix\/master\[[0-9]+\]: daemon started/ { t = ""; f = ""; lastfatal = "" }
  /postfix\/smtpd\[[0-9]+\]: fatal: / { lastfatal = $0; if (substr($1, 1, 19) >= since) f = $0 }
  /postfix\/master\[[0-9]+\]: warning: .*smtpd: bad command startup -- throttling/ { t = substr($1, 1, 19); tf = lastfatal }
  END { if (t != "") { print t, tf } else if (f != "") { print "-", f } }')
if [ -n "${tstamp:-}" ] && [ "$tstamp" != - ]; then
  left=$(( $(date -u -d "${tstamp/T/ }" +%s) + throttle - EPOCHSECONDS ))
  if [ "$left" -gt 0 ]; then
    msg=${fatal#*postfix/smtpd\[*\]: }
    note "throttled since $tstamp after: $fatal"
    hint "Postfix hat smtpd nach Abstürzen für $throttle s gesperrt (mail.log: „bad command startup -- throttling“). Ursache laut mail.log: ${msg:-siehe /var/log/mail.log}. Beheben Sie sie, dann systemctl restart postfix – postfix reload beendet die Sperre nicht. Oder warten Sie noch $left s." \
         "Postfix has throttled smtpd for $throttle s after crashes (mail.log: \"bad command startup -- throttling\"). The cause according to mail.log: ${msg:-see /var/log/mail.log}. Fix it, then systemctl restart postfix – postfix reload does not end the throttling. Or wait another $left s."
    echo "RETRY_AFTER: $left"
    fail "smtpd ist gedrosselt (noch $left s)" "smtpd is throttled ($left s left)"
  fi
fi
if [ "${tstamp:-}" = - ] && [ -n "${fatal:-}" ]; then
  msg=${fatal#*postfix/smtpd\[*\]: }
  note "$fatal"
  hint "smtpd ist mit einem Fehler abgebrochen (mail.log: „$msg“). Solange die Konfiguration so ist, kann Postfix keine Verbindung annehmen. Korrigieren Sie sie und laden Sie Postfix neu." \
       "smtpd stopped with an error (mail.log: \"$msg\"). As long as the configuration stays like this, Postfix cannot take a connection. Fix it and reload Postfix."
  fail "smtpd bricht ab: $msg" "smtpd stops: $msg"
fi
pass "Postfix kann Verbindungen annehmen" "Postfix can take connections"
