#!/bin/bash
# On mail, only after the check failed: why is port 25 not reachable from outside?
{ read -r ii; read -r ip; } < <(pc inet_interfaces inet_protocols)
listen=$(listening_on 25 | tr '\n' ' ' | sed 's/ $//')
note "inet_interfaces = $ii; inet_protocols = $ip; listening on port 25: ${listen:-nothing}"
# Postfix's own words first: a fatal error (e.g. an address mail does not have) explains more than
# any guess from outside; the guesses below that it would contradict are left out.
serious=no
explain_postfix "$(changed_at postfix)" && serious=yes
if ! postfix_running; then
  hint "Postfix läuft nicht. Starten Sie es mit systemctl start postfix und prüfen Sie /var/log/mail.log auf Fehler." \
       "Postfix is not running. Start it with systemctl start postfix and look for errors in /var/log/mail.log."
fi
only_loopback=yes
for e in ${ii//,/ }; do
  case $e in loopback-only|localhost|127.*|::1|"[::1]") ;; *) only_loopback=no ;; esac
done
if [ "$only_loopback" = yes ]; then
  hint "inet_interfaces steht noch auf „$ii“: Postfix nimmt nur Verbindungen von localhost an. Setzen Sie inet_interfaces = all in /etc/postfix/main.cf." \
       "inet_interfaces is still \"$ii\": Postfix only accepts connections from localhost. Set inet_interfaces = all in /etc/postfix/main.cf."
  # Edited, but not the file Postfix reads? (main.cf.proto, master.cf, a copy of main.cf)
  wrong=$(grep -lE '^[[:space:]]*inet_interfaces[[:space:]]*=[[:space:]]*([^l[:space:]]|l[^o])' /etc/postfix/* 2>/dev/null | grep -vx /etc/postfix/main.cf | head -n1)
  if [ -n "$wrong" ]; then
    hint "In $wrong steht inet_interfaces – aber Postfix liest seine Einstellungen nur aus /etc/postfix/main.cf (postconf -n zeigt, was gilt)." \
         "$wrong has inet_interfaces – but Postfix reads its settings only from /etc/postfix/main.cf (postconf -n shows what applies)."
  fi
  exit 0
fi
[ "$serious" = yes ] && exit 0
# Addresses mail does not have: Postfix refuses to start with them (mail.log, above, if it tried).
for e in ${ii//,/ }; do
  if [[ $e =~ ^[0-9]+(\.[0-9]+){3}$ ]] && [ "$e" != "$MAILLAB_MAIL_IP" ] && ! [[ $e == 127.* ]]; then
    hint "inet_interfaces nennt $e – das ist keine Adresse von mail (mail hat $MAILLAB_MAIL_IP). Setzen Sie inet_interfaces = all (oder $MAILLAB_MAIL_IP), dann systemctl restart postfix." \
         "inet_interfaces names $e – that is no address of mail (mail has $MAILLAB_MAIL_IP). Set inet_interfaces = all (or $MAILLAB_MAIL_IP), then systemctl restart postfix."
    exit 0
  fi
done
if [ "$ip" = ipv6 ]; then
  hint "inet_protocols = ipv6: partner verbindet sich über IPv4. Setzen Sie inet_protocols = all (oder ipv4)." \
       "inet_protocols = ipv6: partner connects over IPv4. Set inet_protocols = all (or ipv4)."
  exit 0
fi
if [ -n "$listen" ] && ! listens_outside 25; then
  hint "In main.cf steht inet_interfaces = $ii, aber Postfix lauscht noch nur auf localhost ($listen). Änderungen an inet_interfaces werden erst mit einem Neustart von Postfix wirksam: systemctl restart postfix (postfix reload genügt nicht, ein Neustart eines anderen Dienstes auch nicht)." \
       "main.cf says inet_interfaces = $ii, but Postfix still listens on localhost only ($listen). inet_interfaces changes need a restart of Postfix: systemctl restart postfix (postfix reload is not enough, nor is restarting another service)."
elif [ -z "$listen" ] && postfix_running; then
  hint "Postfix läuft, lauscht aber nicht auf Port 25. Ist die Zeile „smtp inet … smtpd“ in /etc/postfix/master.cf aktiv?" \
       "Postfix runs but does not listen on port 25. Is the line \"smtp inet … smtpd\" in /etc/postfix/master.cf active?"
fi
