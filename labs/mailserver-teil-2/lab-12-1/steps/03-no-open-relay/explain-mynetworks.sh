#!/bin/bash
# On mail, only after a relay check failed: which mynetworks entry (or restriction) lets outsiders relay?
mn=$(pc mynetworks)
note "mynetworks = $mn"
note "smtpd_relay_restrictions = $(pc smtpd_relay_restrictions)"
note "smtpd_recipient_restrictions = $(pc smtpd_recipient_restrictions)"
if entry=$(trusted_by_mynetworks "$MAILLAB_PROBE_IP" maillab-check) || entry=$(trusted_by_mynetworks "$MAILLAB_PARTNER_IP" partner); then
  case $entry in
    0.0.0.0/0|0/0)
      hint "mynetworks enthält $entry – damit vertraut Postfix dem ganzen Internet: ein offenes Relay. Niemals fremde Adressen eintragen!" \
           "mynetworks contains $entry – Postfix then trusts the whole Internet: an open relay. Never add foreign addresses!" ;;
    [a-zA-Z]*)
      hint "mynetworks enthält den Namen $entry – Postfix vertraut damit dem Rechner partner ($MAILLAB_PARTNER_IP), der für „außen“ steht: ein offenes Relay für ihn. Niemals fremde Adressen eintragen! Nur localhost (127.0.0.0/8 [::1]/128)." \
           "mynetworks contains the name $entry – Postfix thereby trusts the machine partner ($MAILLAB_PARTNER_IP), which stands for \"outside\": an open relay for it. Never add foreign addresses! Only localhost (127.0.0.0/8 [::1]/128)." ;;
    *)
      hint "mynetworks enthält $entry, und das umfasst partner ($MAILLAB_PARTNER_IP) und das ganze Labornetz. partner steht für „außen“: Niemals fremde Adressen in mynetworks eintragen! Nur localhost (127.0.0.0/8 [::1]/128)." \
           "mynetworks contains $entry, which covers partner ($MAILLAB_PARTNER_IP) and the whole lab network. partner stands for \"outside\": never add foreign addresses to mynetworks! Only localhost (127.0.0.0/8 [::1]/128)." ;;
  esac
fi
if [ "$(pc mynetworks_style)" != host ] && [ -z "$(postconf -n mynetworks 2>/dev/null)" ]; then
  hint "mynetworks ist nicht gesetzt, daher gilt mynetworks_style = $(pc mynetworks_style): Postfix vertraut dann dem ganzen lokalen Netz. Setzen Sie mynetworks = 127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128." \
       "mynetworks is not set, so mynetworks_style = $(pc mynetworks_style) applies and Postfix trusts the whole local network. Set mynetworks = 127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128."
fi
# A restriction list that says "permit" before the relay protection lets everyone relay.
for p in smtpd_relay_restrictions smtpd_recipient_restrictions; do
  list=$(pc $p)
  first=$(grep -oE '(^|[ ,])(permit|(reject|defer)_unauth_destination)([ ,]|$)' <<<"$list" | head -n1 | tr -d ' ,')
  if [ "$first" = permit ]; then
    hint "$p = $list – das „permit“ vor reject_unauth_destination erlaubt jedem alles: ein offenes Relay. Relaying erlauben nur permit_mynetworks und permit_sasl_authenticated, dann reject_unauth_destination." \
         "$p = $list – the \"permit\" before reject_unauth_destination allows everything to everyone: an open relay. Only permit_mynetworks and permit_sasl_authenticated may allow relaying, then reject_unauth_destination."
  fi
done
