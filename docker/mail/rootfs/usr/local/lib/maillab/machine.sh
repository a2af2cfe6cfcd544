# Hooks of the "mail" machine for maillab-init (sourced). It boots like the end
# of "Mailserver Teil 1": syslog, Postfix on loopback only; Dovecot once the
# learner has installed it.
# shellcheck shell=bash

RSYSLOG_PIDFILE=/run/rsyslogd.pid
POSTFIX_PIDFILE=/var/spool/postfix/pid/master.pid
DOVECOT_PIDFILE=/run/dovecot/master.pid

machine_boot() {
  local first=$1 bg_users='' bg_tls='' rc=0 f stale=()
  for f in "$RSYSLOG_PIDFILE" "$POSTFIX_PIDFILE" "$DOVECOT_PIDFILE"; do [ -e "$f" ] && stale+=("$f"); done
  [ ${#stale[@]} -eq 0 ] || rm -f "${stale[@]}"

  if [ "$first" = 1 ]; then
    # Names first: Postfix reads them when it starts below.
    postconf -e "myhostname = mail.$DOMAIN" || rc=1
    printf 'mail.%s\n' "$DOMAIN" >/etc/mailname
    # Postfix treats a config file changed within the last second as "hot"
    # (being edited): it sleeps a second and reads it again - twice for
    # `master -w`, ~2 s in all. These two were written by us, completely.
    touch -d '2 seconds ago' /etc/postfix/main.cf /etc/mailname
  fi

  mail_sync_postfix_chroot
  if svc_enabled rsyslog; then
    "${MAILLAB_DAEMON_ENV[@]}" /usr/sbin/rsyslogd || { log "rsyslogd failed to start"; rc=1; }
  fi
  mail_start_postfix || rc=1

  if [ "$first" = 1 ]; then
    # The slow parts run once Postfix answers (it is what environments wait
    # for first), side by side on the 2 cores: users (~0.15 s of password
    # hashing) and the RSA key (0.1-1 s, it varies). The ready mark waits for
    # both. A connection to port 25 before the key exists gets no STARTTLS
    # (smtpd logs "cannot get RSA certificate"), hence the reload below.
    ( ensure_user "$USER1" "$PASSWORD1"; ensure_user "$USER2" "$PASSWORD2" ) &
    bg_users=$!
    ( mail_make_snakeoil ) &
    bg_tls=$!
  fi

  if svc_enabled dovecot && [ -x /usr/sbin/dovecot ]; then
    # Installed by the learner in Lab 12.2 (and enabled by its postinst).
    "${MAILLAB_DAEMON_ENV[@]}" /usr/sbin/dovecot -c /etc/dovecot/dovecot.conf || { log "dovecot failed to start"; rc=1; }
  fi

  if [ "$first" = 1 ]; then
    wait "$bg_users" || rc=1
    wait "$bg_tls" || rc=1
    # smtpd processes forked before the key existed run without TLS; a reload
    # (SIGHUP to master, like `postfix reload`) replaces them.
    local pid
    if pid=$(pid_of_file "$POSTFIX_PIDFILE"); then kill -HUP "$pid"; fi
    # Keep debconf in step so `dpkg-reconfigure postfix` offers this name; not
    # waited for (~0.15 s of perl), tini adopts it.
    ( echo "postfix postfix/mailname string mail.$DOMAIN" | debconf-set-selections 2>/dev/null ) &
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
  # (The copies made at build time are world-readable; cp onto them keeps that.)
  cp -fL /etc/resolv.conf /etc/hosts /etc/services /etc/host.conf /etc/nsswitch.conf /etc/localtime "$q/etc/" 2>/dev/null
  return 0
}

# A fresh snakeoil key and certificate for this container (Postfix's
# smtpd_tls_cert_file and, later, Dovecot's ssl_cert point at them).
# This is exactly what `make-ssl-cert generate-default-snakeoil --force-overwrite`
# does (same template, RSA 2048, SHA-256, 10 years, modes, hash link; CN and SAN
# mail.<domain> instead of `hostname -f`), without its debconf start-up, which
# costs ~0.5 s of CPU per container; learners can run make-ssl-cert themselves.
mail_make_snakeoil() {
  local fqdn="mail.$DOMAIN" cnf cert=/etc/ssl/certs/ssl-cert-snakeoil.pem key=/etc/ssl/private/ssl-cert-snakeoil.key hash
  cnf=$(mktemp) || return 1
  sed -e "s#@HostName@#$fqdn#" -e "s#@SubjectAltName@#DNS:$fqdn#" /usr/share/ssl-cert/ssleay.cnf >"$cnf"
  if ! (umask 077 && openssl req -config "$cnf" -new -x509 -days 3650 -nodes -sha256 \
      -out "$cert.new" -keyout "$key.new") >/dev/null 2>&1; then
    rm -f "$cnf" "$cert.new" "$key.new"
    log "creating the snakeoil certificate failed; trying make-ssl-cert"
    DEBIAN_FRONTEND=noninteractive make-ssl-cert generate-default-snakeoil --force-overwrite
    return
  fi
  rm -f "$cnf"
  chmod 644 "$cert.new"
  chmod 640 "$key.new"
  chown root:ssl-cert "$key.new"
  # Renamed into place, so a daemon never reads half a key.
  mv -f "$key.new" "$key"
  mv -f "$cert.new" "$cert"
  hash=$(openssl x509 -hash -noout -in "$cert") && ln -sf "${cert##*/}" "/etc/ssl/certs/$hash.0"
}
