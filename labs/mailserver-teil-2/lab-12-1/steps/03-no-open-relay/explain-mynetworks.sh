#!/bin/bash
# On mail, only after the relay check failed: which mynetworks entry (or restriction) lets partner relay?
mn=$(pc mynetworks)
note "mynetworks = $mn"
note "smtpd_relay_restrictions = $(pc smtpd_relay_restrictions)"
note "smtpd_recipient_restrictions = $(pc smtpd_recipient_restrictions)"
for entry in ${mn//,/ }; do
  case $entry in
    0.0.0.0/0|0/0|"[::]/0"|::/0)
      hint "mynetworks enthält $entry – damit vertraut Postfix dem ganzen Internet: ein offenes Relay. Niemals fremde Adressen eintragen!" \
           "mynetworks contains $entry – Postfix then trusts the whole Internet: an open relay. Never add foreign addresses!" ;;
    *)
      if ip_in_cidr "$MAILLAB_PARTNER_IP" "$entry"; then
        hint "mynetworks enthält $entry, und das umfasst partner ($MAILLAB_PARTNER_IP). partner steht für „außen“: Niemals fremde Adressen in mynetworks eintragen! Nur localhost (127.0.0.0/8 [::1]/128)." \
             "mynetworks contains $entry, which covers partner ($MAILLAB_PARTNER_IP). partner stands for \"outside\": never add foreign addresses to mynetworks! Only localhost (127.0.0.0/8 [::1]/128)."
      fi ;;
  esac
done
if [ "$(pc mynetworks_style)" != host ] && [ -z "$(postconf -n mynetworks 2>/dev/null)" ]; then
  hint "mynetworks ist nicht gesetzt, daher gilt mynetworks_style = $(pc mynetworks_style): Postfix vertraut dann dem ganzen lokalen Netz. Setzen Sie mynetworks = 127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128." \
       "mynetworks is not set, so mynetworks_style = $(pc mynetworks_style) applies and Postfix trusts the whole local network. Set mynetworks = 127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128."
fi
rr=$(pc smtpd_relay_restrictions)
if [ -n "$rr" ] && ! grep -qE '(reject|defer)_unauth_destination|(^|[ ,])reject([ ,]|$)' <<<"$rr"; then
  hint "smtpd_relay_restrictions = $rr – ohne reject_unauth_destination nimmt Postfix Mails an fremde Domains an." \
       "smtpd_relay_restrictions = $rr – without reject_unauth_destination Postfix accepts mail for foreign domains."
fi
