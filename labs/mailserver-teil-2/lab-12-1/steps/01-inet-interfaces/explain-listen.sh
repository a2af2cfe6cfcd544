#!/bin/bash
# On mail, only after the check failed: why is port 25 not reachable from outside?
{ read -r ii; read -r ip; } < <(pc inet_interfaces inet_protocols)
listen=$(listening_on 25 | tr '\n' ' ' | sed 's/ $//')
note "inet_interfaces = $ii; inet_protocols = $ip; listening on port 25: ${listen:-nothing}"
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
    exit 0
fi
if [ "$ip" = ipv6 ]; then
  hint "inet_protocols = ipv6: partner verbindet sich über IPv4. Setzen Sie inet_protocols = all (oder ipv4)." \
       "inet_protocols = ipv6: partner connects over IPv4. Set inet_protocols = all (or ipv4)."
  exit 0
fi
if [ -n "$listen" ] && ! listens_outside 25; then
  hint "In main.cf steht inet_interfaces = $ii, aber Postfix lauscht noch nur auf localhost ($listen). Änderungen an inet_interfaces werden erst nach einem Neustart wirksam: systemctl restart postfix (reload genügt nicht)." \
       "main.cf says inet_interfaces = $ii, but Postfix still listens on localhost only ($listen). inet_interfaces changes need a restart: systemctl restart postfix (reload is not enough)."
elif [ -z "$listen" ] && postfix_running; then
  hint "Postfix läuft, lauscht aber nicht auf Port 25. Ist die Zeile „smtp inet … smtpd“ in /etc/postfix/master.cf aktiv?" \
       "Postfix runs but does not listen on port 25. Is the line \"smtp inet … smtpd\" in /etc/postfix/master.cf active?"
fi
