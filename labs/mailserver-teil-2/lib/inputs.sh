#!/bin/bash
# The state of `mail` that the checks depend on (course.yaml `inputs`), one line per item:
# "<input> <item>". The app hashes each input's lines and runs a check again only when an input it
# `depends` on changed since its last run (docs/authoring.md "What a check depends on").
# Runs after every command the learner types: one find, one awk, one grep; no daemons asked.
#
#   postfix    /etc/postfix, /etc/aliases*, /etc/mailname (names, sizes, times, modes), and the
#              running Postfix: master and qmgr with their start times (qmgr restarts on `postfix
#              reload`; connection handlers like smtpd come and go and do not count)
#   dovecot    /etc/dovecot, and the running Dovecot: master and its log process (restarted on
#              `doveadm reload` and `systemctl reload dovecot`)
#   listeners  TCP sockets in LISTEN state; smtp-listeners: those on port 25
#   sasl       sockets under /var/spool/postfix/private (Dovecot's auth socket for Postfix)
#   accounts   /etc/passwd, /etc/shadow, /etc/group
#   tls        the snakeoil certificate and key (and /etc/ssl/private)
#   packages   dpkg's status file (apt install / remove)
#   mail-log   /var/log/mail.log without the checks' own lines (maillab-check / the probe's address)
#   mailboxes  /var/mail, the users' ~/mbox and ~/Maildir
find /etc/postfix /etc/aliases /etc/aliases.db /etc/mailname /etc/dovecot /etc/passwd /etc/shadow /etc/group \
     /etc/ssl/certs/ssl-cert-snakeoil.pem /etc/ssl/private /var/lib/dpkg/status /var/spool/postfix/private \
     /var/mail /home -maxdepth 4 -printf '%H %P %y %s %T@ %m %u %g\n' 2>/dev/null |
  awk '{
    root = $1; sub(/^[^ ]+ /, "")
    if (root == "/home" && $0 !~ /(^|\/)(mbox|Maildir)(\/|$| )/) next
    if (root ~ /^\/etc\/(postfix|aliases|mailname)/) k = "postfix"
    else if (root == "/etc/dovecot") k = "dovecot"
    else if (root ~ /^\/etc\/(passwd|shadow|group)$/) k = "accounts"
    else if (root ~ /^\/etc\/ssl/) k = "tls"
    else if (root == "/var/lib/dpkg/status") k = "packages"
    else if (root == "/var/spool/postfix/private") { if ($2 != "s") next; k = "sasl" }
    else k = "mailboxes"
    print k, root, $0
  }'
awk '
  FNR == 1 {
    # /proc/<pid>/stat: pid (comm) state ppid … field 22 = start time. comm has no spaces here.
    comm = $2; gsub(/[()]/, "", comm)
    if (comm ~ /^(master|qmgr)$/) print "postfix", "process", comm, $1, $22
    else if (comm ~ /^(dovecot|log)$/) print "dovecot", "process", comm, $1, $22
    nextfile
  }' /proc/[0-9]*/stat 2>/dev/null
# (port 25 = hex 0019 again on its own: the SMTP checks need not run when Dovecot starts listening)
awk 'FNR > 1 && $4 == "0A" { print "listeners", $2; if ($2 ~ /:0019$/) print "smtp-listeners", $2 }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
probe=${MAILLAB_PROBE_IP//./\\.}
printf 'mail-log %s %s\n' "$(stat -c %i /var/log/mail.log 2>/dev/null)" \
  "$(grep -cvE "maillab-check|${probe:-none}([^0-9]|$)" /var/log/mail.log 2>/dev/null)"
