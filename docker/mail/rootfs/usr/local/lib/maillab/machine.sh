# Hooks of the "mail" machine for maillab-init (sourced). It boots like the end
# of "Mailserver Teil 1": syslog, Postfix on loopback only; Dovecot once the
# learner has installed it.
# shellcheck shell=bash

RSYSLOG_PIDFILE=/run/rsyslogd.pid
POSTFIX_PIDFILE=/var/spool/postfix/pid/master.pid
DOVECOT_PIDFILE=/run/dovecot/master.pid

machine_boot() {
  local first=$1 bg_users='' bg_tls='' rc=0
  rm -f "$RSYSLOG_PIDFILE" "$POSTFIX_PIDFILE" "$DOVECOT_PIDFILE"

  if [ "$first" = 1 ]; then
    # Names first: Postfix reads them when it starts below.
    postconf -e "myhostname = mail.$DOMAIN" || rc=1
    printf 'mail.%s\n' "$DOMAIN" >/etc/mailname
    # Postfix treats a config file changed within the last second as "hot"
    # (being edited): it sleeps a second and reads it again - twice for
    # `master -w`, ~2 s in all. These two were written by us, completely.
    touch -d '2 seconds ago' /etc/postfix/main.cf /etc/mailname
    # The slow parts run while the services start (2 cores): users (~0.15 s of
    # password hashing) and the TLS key (make-ssl-cert ~0.8 s, mostly debconf
    # and the RSA key). The ready mark waits for both.
    ( ensure_user "$USER1" "$PASSWORD1"; ensure_user "$USER2" "$PASSWORD2" ) &
    bg_users=$!
    ( mail_make_snakeoil ) &
    bg_tls=$!
  fi

  mail_sync_postfix_chroot
  if svc_enabled rsyslog; then
    "${MAILLAB_DAEMON_ENV[@]}" /usr/sbin/rsyslogd || { log "rsyslogd failed to start"; rc=1; }
  fi
  mail_start_postfix || rc=1

  if [ "$first" = 1 ]; then
    wait "$bg_users" || rc=1
    wait "$bg_tls" || rc=1
    # smtpd processes forked before the key existed run without TLS; a reload
    # (SIGHUP to master, like `postfix reload`) replaces them.
    local pid
    if pid=$(pid_of_file "$POSTFIX_PIDFILE"); then kill -HUP "$pid"; fi
    # Keep debconf in step so `dpkg-reconfigure postfix` shows this machine's name.
    echo "postfix postfix/mailname string mail.$DOMAIN" | debconf-set-selections 2>/dev/null || true
  fi

  if svc_enabled dovecot && [ -x /usr/sbin/dovecot ]; then
    # Installed by the learner in Lab 12.2 (and enabled by its postinst).
    "${MAILLAB_DAEMON_ENV[@]}" /usr/sbin/dovecot -c /etc/dovecot/dovecot.conf || { log "dovecot failed to start"; rc=1; }
  fi
  return $rc
}

machine_stop() {
  # Mail daemons first (their last words still reach the log), then syslog.
  stop_pidfiles 5 "$DOVECOT_PIDFILE" "$POSTFIX_PIDFILE"
  stop_pidfiles 2 "$RSYSLOG_PIDFILE"
}

# Postfix fast path: `postfix start` (and so `service postfix start`) spends
# ~2.4 s in its own checks; `master -w` answers on port 25 within ~15 ms
# because the queue directories and the chroot were prepared at image build.
# `service postfix restart|stop|status` work on this master as usual (the pid
# file is the same).
mail_start_postfix() {
  svc_enabled postfix && [ -x /usr/lib/postfix/sbin/master ] || return 0
  if ! "${MAILLAB_DAEMON_ENV[@]}" /usr/lib/postfix/sbin/master -w; then
    log "postfix master failed to start; see /var/log/mail.log (and: postfix check)"
    return 1
  fi
}

# What Debian's /usr/lib/postfix/configure-instance.sh does on every start for
# the chrooted services, reduced to the files that change per container:
# Docker writes resolv.conf and hosts for each container, and a stale
# resolv.conf in the chroot makes smtpd's client lookups time out.
mail_sync_postfix_chroot() {
  local q=/var/spool/postfix
  [ -d "$q/etc" ] || return 0
  cp -fL /etc/resolv.conf /etc/hosts /etc/services /etc/host.conf /etc/nsswitch.conf /etc/localtime "$q/etc/" 2>/dev/null
  chmod a+r "$q"/etc/* 2>/dev/null
  return 0
}

# A fresh snakeoil key and certificate for this container (Postfix's
# smtpd_tls_cert_file and, later, Dovecot's ssl_cert point at them).
mail_make_snakeoil() {
  local fake
  fake=$(mktemp -d) || return 1
  # make-ssl-cert names the certificate after `hostname -f`, which is just
  # "mail" in a container; use the FQDN the learner sees in the SMTP banner.
  printf '#!/bin/sh\necho "mail.%s"\n' "$DOMAIN" >"$fake/hostname"
  chmod 755 "$fake/hostname"
  PATH=$fake:$PATH DEBIAN_FRONTEND=noninteractive \
    make-ssl-cert generate-default-snakeoil --force-overwrite >/dev/null 2>&1
  local rc=$?
  rm -rf "$fake"
  [ $rc = 0 ] || log "make-ssl-cert failed ($rc)"
  return $rc
}
