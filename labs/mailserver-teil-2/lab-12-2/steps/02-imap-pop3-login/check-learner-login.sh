#!/bin/bash
# On mail: evidence of the learner's own IMAP/POP3 login from partner in Dovecot's log:
#   dovecot: imap-login: Login: user=<alice>, method=PLAIN, rip=<partner>, lip=..., TLS, ...
# Checks never log in to IMAP/POP3 as the users, so such a line is always the learner's.
login=$(mail_log | awk -v rip="rip=$MAILLAB_PARTNER_IP," -v u1="user=<$MAILLAB_USER1>," -v u2="user=<$MAILLAB_USER2>," '
  /dovecot: (imap|pop3)-login: Login: / && index($0, rip) && (index($0, u1) || index($0, u2)) { l = $0 }
  END { print l }')
if [ -n "$login" ]; then
  note "$login"
  proto=${login#*dovecot: }; proto=${proto%%-login*}
  user=${login#*user=<}; user=${user%%>*}
  pass "Anmeldung per ${proto^^} als $user von partner gefunden" "Found a ${proto^^} login as $user from partner"
fi
# Why not? Look at the learner's failed attempts from partner.
attempts=$(mail_log | awk -v rip="rip=$MAILLAB_PARTNER_IP," '/dovecot: (imap|pop3)-login: / && index($0, rip) && !/no auth attempts/ { l = $0 } END { print l }')
if [ -n "$attempts" ]; then
  note "$attempts"
  case $attempts in
    *"plaintext auth"*)
      hint "Dovecot lehnt das Passwort ohne TLS ab (disallowed plaintext auth). Verwenden Sie STARTTLS: imtest -t \"\" … bzw. pop3test -t \"\" …" \
           "Dovecot refuses the password without TLS (disallowed plaintext auth). Use STARTTLS: imtest -t \"\" … or pop3test -t \"\" …" ;;
    *"auth failed"*)
      hint "Die Anmeldung ist gescheitert (auth failed). Passwörter: $MAILLAB_USER1 = $MAILLAB_PASSWORD1, $MAILLAB_USER2 = $MAILLAB_PASSWORD2." \
           "The login failed (auth failed). Passwords: $MAILLAB_USER1 = $MAILLAB_PASSWORD1, $MAILLAB_USER2 = $MAILLAB_PASSWORD2." ;;
  esac
fi
hint "Melden Sie sich auf partner per IMAP oder POP3 an, z. B. imtest -t \"\" -a $MAILLAB_USER1 mail, und lesen Sie die Mail aus Lab 12.1." \
     "Log in on partner by IMAP or POP3, e.g. imtest -t \"\" -a $MAILLAB_USER1 mail, and read the mail from Lab 12.1."
fail "Noch keine IMAP/POP3-Anmeldung von partner" "No IMAP/POP3 login from partner yet"
