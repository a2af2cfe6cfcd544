#!/bin/bash
# On mail, only after a check failed: is the test domain in mydestination, and is that active?
md=$(pc mydestination)
note "mydestination = $md"
if ! in_list "$MAILLAB_DOMAIN" "$md"; then
  hint "mydestination enthält $MAILLAB_DOMAIN nicht (zurzeit: $md). Ergänzen Sie die Domain in /etc/postfix/main.cf und laden Sie Postfix neu (postfix reload)." \
       "mydestination does not contain $MAILLAB_DOMAIN (currently: $md). Add the domain in /etc/postfix/main.cf and reload Postfix (postfix reload)."
else
  hint "In main.cf steht $MAILLAB_DOMAIN in mydestination. Haben Sie Postfix danach neu geladen (postfix reload)?" \
       "main.cf has $MAILLAB_DOMAIN in mydestination. Did you reload Postfix afterwards (postfix reload)?"
fi
if ! in_list "$(pc myhostname)" "$md"; then
  hint "Auch der eigene Hostname (\$myhostname) gehört in mydestination." "The server's own host name (\$myhostname) belongs in mydestination too."
fi
