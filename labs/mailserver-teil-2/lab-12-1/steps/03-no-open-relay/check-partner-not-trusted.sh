#!/bin/bash
# On mail: Postfix does not trust partner through mynetworks. The relay probe comes from the checks'
# own machine, so it cannot see an entry that trusts partner alone (its /32, its name): for partner,
# which stands for "outside", Postfix would still be an open relay. Needs port 25 open from outside
# (like the relay probe), so it fails on a fresh machine as well.
if ! listens_outside 25; then
  hint "Port 25 ist von außen noch nicht offen – zuerst den Schritt inet_interfaces erledigen." \
       "Port 25 is not open from outside yet – do the inet_interfaces step first."
  fail "Postfix nimmt noch keine Verbindungen von außen an" "Postfix takes no connections from outside yet"
fi
if entry=$(trusted_by_mynetworks "$MAILLAB_PARTNER_IP" partner); then
  note "mynetworks = $(pc mynetworks)"
  hint "mynetworks enthält $entry – damit vertraut Postfix partner ($MAILLAB_PARTNER_IP), und partner steht für einen fremden Rechner im Internet: Von dort könnte jeder Ihren Server als Relay missbrauchen. Niemals fremde Adressen eintragen! Nur localhost (127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128)." \
       "mynetworks contains $entry – Postfix thereby trusts partner ($MAILLAB_PARTNER_IP), which stands for a foreign machine on the Internet: from there anyone could abuse your server as a relay. Never add foreign addresses! Only localhost (127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128)."
  fail "Offenes Relay für partner: mynetworks vertraut $MAILLAB_PARTNER_IP ($entry)" "Open relay for partner: mynetworks trusts $MAILLAB_PARTNER_IP ($entry)"
fi
pass "partner ($MAILLAB_PARTNER_IP) steht nicht in mynetworks" "partner ($MAILLAB_PARTNER_IP) is not in mynetworks"
