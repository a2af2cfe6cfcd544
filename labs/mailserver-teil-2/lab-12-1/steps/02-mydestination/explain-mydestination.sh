#!/bin/bash
# On mail, only after a check failed: is the test domain (and the host name) in mydestination?
md=$(pc mydestination)
raw=$(postconf -h mydestination 2>/dev/null)
note "mydestination = $raw (expanded: $md)"
host=$(pc myhostname)
has_domain=no has_host=no
in_list "$MAILLAB_DOMAIN" "$md" && has_domain=yes
in_list "$host" "$md" && has_host=yes
if [ $has_domain = no ]; then
  hint "mydestination enthält $MAILLAB_DOMAIN nicht (zurzeit: ${raw:-leer}). Ergänzen Sie die Domain in /etc/postfix/main.cf und laden Sie Postfix neu (postfix reload)." \
       "mydestination does not contain $MAILLAB_DOMAIN (currently: ${raw:-empty}). Add the domain in /etc/postfix/main.cf and reload Postfix (postfix reload)."
fi
if [ $has_host = no ]; then
  hint "Auch der eigene Hostname (\$myhostname = $host) gehört in mydestination – sonst nimmt Postfix keine Mails an $MAILLAB_USER1@$host mehr an." \
       "The server's own host name (\$myhostname = $host) belongs in mydestination too – otherwise Postfix refuses mail to $MAILLAB_USER1@$host."
fi
if [ $has_domain = yes ] && [ $has_host = yes ]; then
  hint "In main.cf stehen $MAILLAB_DOMAIN und \$myhostname in mydestination. Haben Sie Postfix danach neu geladen (postfix reload)?" \
       "main.cf has $MAILLAB_DOMAIN and \$myhostname in mydestination. Did you reload Postfix afterwards (postfix reload)?"
fi
