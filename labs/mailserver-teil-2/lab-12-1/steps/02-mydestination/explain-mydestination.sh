#!/bin/bash
# On mail, only after a check failed: is the test domain (and the host name) in mydestination, and
# does the running Postfix use what main.cf says?
md=$(pc mydestination)
raw=$(postconf -h mydestination 2>/dev/null)
note "mydestination = $raw (expanded: $md)"
# Postfix's own complaints first (a misspelt restriction, a table without postmap, a fatal error).
explain_postfix "$(changed_at postfix)" && exit 0
host=$(pc myhostname)
has_domain=no has_host=no
in_list "$MAILLAB_DOMAIN" "$md" && has_domain=yes
in_list "$host" "$md" && has_host=yes
if [ $has_domain = no ]; then
  hint "mydestination enthält $MAILLAB_DOMAIN nicht (zurzeit: ${raw:-leer}). Ergänzen Sie die Domain in /etc/postfix/main.cf und laden Sie Postfix neu (postfix reload)." \
       "mydestination does not contain $MAILLAB_DOMAIN (currently: ${raw:-empty}). Add the domain in /etc/postfix/main.cf and reload Postfix (postfix reload)."
  for p in relay_domains virtual_alias_domains virtual_mailbox_domains; do
    if in_list "$MAILLAB_DOMAIN" "$(pc $p)"; then
      hint "$MAILLAB_DOMAIN steht in $p – das ist für Domains, die Postfix weiterleitet oder virtuell verwaltet. Die Domain, deren Mails an die lokalen Benutzer gehen, gehört in mydestination." \
           "$MAILLAB_DOMAIN is in $p – that is for domains Postfix forwards or hosts virtually. The domain whose mail goes to the local users belongs in mydestination."
    fi
  done
fi
if [ $has_host = no ]; then
  hint "Auch der eigene Hostname (\$myhostname = $host) gehört in mydestination – sonst nimmt Postfix keine Mails an $MAILLAB_USER1@$host mehr an." \
       "The server's own host name (\$myhostname = $host) belongs in mydestination too – otherwise Postfix refuses mail to $MAILLAB_USER1@$host."
fi
if [ $has_domain = yes ] && [ $has_host = yes ] && changed=$(postfix_reload_pending); then
  hint "$changed wurde nach dem letzten Laden von Postfix geändert: Postfix arbeitet noch mit den alten Einstellungen. postfix reload (oder systemctl reload postfix)." \
       "$changed was changed after Postfix last loaded it: Postfix still works with the old settings. postfix reload (or systemctl reload postfix)."
fi
# Unknown users accepted: Postfix does not know which users exist, or sends everything unknown on.
if [ -n "$(postconf -n local_recipient_maps 2>/dev/null)" ] && [ -z "$(pc local_recipient_maps)" ]; then
  hint "local_recipient_maps ist leer: Postfix prüft dann nicht, ob es einen Benutzer gibt, nimmt Mails an jeden an und müsste sie später zurückschicken. Entfernen Sie die Zeile (Voreinstellung: proxy:unix:passwd.byname \$alias_maps)." \
       "local_recipient_maps is empty: Postfix then does not check whether a user exists, accepts mail for anyone and would have to bounce it later. Remove the line (default: proxy:unix:passwd.byname \$alias_maps)."
fi
lr=$(pc luser_relay)
if [ -n "$lr" ]; then
  hint "luser_relay = $lr: Mails an unbekannte Benutzer gehen dorthin, statt abgewiesen zu werden." \
       "luser_relay = $lr: mail for unknown users goes there instead of being rejected."
fi
