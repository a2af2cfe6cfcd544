#!/bin/bash
# maillab check library: prepended to every check, explain and solve script of this course
# (docs/authoring.md explains the format).
#
# Output protocol read by the check runner:
#   exit 0 = pass. `pass` / `fail` print the message in both languages and exit.
#   HINT[de]: / HINT[en]: lines (from `hint`) are shown to the learner when the check fails.
#   Everything else printed (the SMTP/IMAP dialogue, `note` lines) is the check's transcript.
#
# Environment (set by the runner): MAILLAB_DOMAIN MAILLAB_MAIL_HOST MAILLAB_USER1 MAILLAB_PASSWORD1
# MAILLAB_USER2 MAILLAB_PASSWORD2 MAILLAB_SUBNET MAILLAB_MAIL_IP MAILLAB_PARTNER_IP MAILLAB_PROBE_IP
# MAILLAB_PROBE_HOST MAILLAB_CHECK_HELO MAILLAB_RUN (one evaluation) MAILLAB_CHANGED (when inputs changed)
#
# Rules for checks (so that evidence of the learner's own actions can never come from a check):
#  - every network dialogue of a check comes from the probe machine (machine: probe), which mail
#    knows as maillab-check: mail.log says maillab-check[…], evidence looks only at partner's address;
#  - every SMTP dialogue of a check says EHLO $CHECK_HELO and MAIL FROM:<$CHECK_FROM> (the null
#    sender: no sender restriction a hardened server may have - reject_unknown_sender_domain,
#    reject_non_fqdn_sender, reject_unlisted_sender - refuses it or waits for DNS because of it);
#  - checks never log in to IMAP/POP3 as the learner's users, and never deliver or relay a mail:
#    SMTP dialogues end after RCPT with RSET;
#  - all SMTP checks of one evaluation share one dialogue (smtp_survey / smtp_tls_survey), so a
#    change of main.cf costs a handful of log lines, not one session per check.
# Checks run after the learner's commands when something they depend on changed: keep them fast.

CHECK_HELO=${MAILLAB_CHECK_HELO:-maillab-check.invalid}
CHECK_FROM=""
MAIL_HOST=${MAILLAB_MAIL_HOST:-mail}
MAIL_LOG=${MAIL_LOG:-/var/log/mail.log}
# Connection and reply timeout (seconds) of the dialogue helpers.
NET_TIMEOUT=${NET_TIMEOUT:-3}
NL=$'\n'

# ---- results -------------------------------------------------------------------------------------

# hint "<deutsch>" "<english>": shown to the learner when the check fails.
hint() { printf 'HINT[de]: %s\nHINT[en]: %s\n' "$1" "${2:-$1}"; }
# pass "<deutsch>" "<english>": prints the message and exits 0.
pass() { printf 'PASS[de]: %s\nPASS[en]: %s\n' "$1" "${2:-$1}"; exit 0; }
# fail "<deutsch>" "<english>": prints the message and exits 1.
fail() { printf 'FAIL[de]: %s\nFAIL[en]: %s\n' "$1" "${2:-$1}"; exit 1; }
# note "text": a line in the transcript only.
note() { printf '# %s\n' "$*"; }

# last_line "$TEXT" / first_line "$TEXT": without forking.
last_line() { local t=${1%"$NL"}; printf '%s' "${t##*"$NL"}"; }
first_line() { printf '%s' "${1%%"$NL"*}"; }

# ---- line-based network dialogues (SMTP, IMAP, POP3) ---------------------------------------------
# One connection at a time, as a coprocess: plain TCP through nc, or TLS through openssl s_client,
# which does the plain part and STARTTLS itself. The transcript is printed as `S: ` / `C: ` lines.

CONN_PID=""
CONN_ERR=/tmp/maillab-conn.$$
PF_COPY=/tmp/maillab-postfix.$$
trap 'rm -f "$CONN_ERR"; rm -rf "$PF_COPY"' EXIT

# conn_open HOST PORT: plain TCP connection.
conn_open() {
  conn_close
  # (nc's -w is also its idle timeout: long enough for a slow greeting, see smtp_open)
  coproc CONN { exec nc -v -w "$(( NET_TIMEOUT * 2 ))" "$1" "$2" 2>"$CONN_ERR"; }
  note "connect to $1:$2"
}

# conn_open_starttls PROTO HOST PORT [EHLO-NAME]: PROTO is smtp, imap or pop3. For smtp, openssl
# says EHLO with EHLO-NAME (default $CHECK_HELO) before STARTTLS.
conn_open_starttls() {
  conn_close
  local proto=$1 host=$2 port=$3 name=${4:-$CHECK_HELO}
  local extra=()
  [ "$proto" = smtp ] && extra=(-name "$name")
  coproc CONN { exec timeout 20 openssl s_client -quiet -verify_quiet -starttls "$proto" "${extra[@]}" -connect "$host:$port" 2>"$CONN_ERR"; }
  note "connect to $host:$port, STARTTLS ($proto)"
}

conn_close() {
  if [ -n "${CONN_PID:-}" ]; then
    [ -n "${CONN[1]:-}" ] && { exec {CONN[1]}>&-; } 2>/dev/null
    kill "$CONN_PID" 2>/dev/null
    wait "$CONN_PID" 2>/dev/null
  fi
  CONN_PID=""
}

# conn_send "LINE": sends LINE + CRLF. conn_send_secret "LINE" "SHOWN": shows SHOWN in the transcript.
conn_send() {
  printf 'C: %s\n' "$1"
  [ -n "${CONN[1]:-}" ] && printf '%s\r\n' "$1" >&"${CONN[1]}" 2>/dev/null
  return 0
}
conn_send_secret() {
  printf 'C: %s\n' "${2:-<secret>}"
  [ -n "${CONN[1]:-}" ] && printf '%s\r\n' "$1" >&"${CONN[1]}" 2>/dev/null
  return 0
}

# conn_read_line: one line into LINE (CR stripped); fails on timeout or closed connection.
conn_read_line() {
  LINE=""
  [ -n "${CONN[0]:-}" ] || return 1
  if IFS= read -r -t "$NET_TIMEOUT" LINE <&"${CONN[0]}" 2>/dev/null; then
    LINE=${LINE%$'\r'}
    printf 'S: %s\n' "$LINE"
    return 0
  fi
  return 1
}

# conn_error: why the connection failed (what nc/openssl printed), one line.
conn_error() {
  local text=""
  [ -r "$CONN_ERR" ] && IFS= read -r -d '' text <"$CONN_ERR"
  text=${text//$'\n'/ }
  printf '%s' "${text% }"
}

# ---- SMTP ----------------------------------------------------------------------------------------
# After each call: SMTP_CODE (e.g. 250; "" when the server didn't answer) and SMTP_REPLY (all lines).

smtp_read_reply() {
  SMTP_CODE="" SMTP_REPLY=""
  while conn_read_line; do
    SMTP_REPLY+="$LINE$NL"
    if [[ $LINE =~ ^([0-9]{3})(\ |$) ]]; then SMTP_CODE=${BASH_REMATCH[1]}; return 0; fi
    [[ $LINE =~ ^[0-9]{3}- ]] || return 1
  done
  return 1
}

# smtp_open [HOST] [PORT]: connects and reads the greeting; succeeds on 220. The greeting may take
# longer than a reply: an smtpd started right after a change of main.cf waits a second or two until
# the file is no longer "hot" (being edited). An smtpd that dies at its start closes the connection
# at once, so the longer wait costs nothing then.
smtp_open() {
  conn_open "${1:-$MAIL_HOST}" "${2:-25}"
  NET_TIMEOUT=$(( NET_TIMEOUT * 2 )) smtp_read_reply && [ "$SMTP_CODE" = 220 ]
}

# smtp "COMMAND": sends a command and reads the reply; succeeds on 2xx/3xx.
smtp() {
  conn_send "$1"
  smtp_read_reply || return 1
  [[ $SMTP_CODE == [23]* ]]
}
# smtp_secret "COMMAND" "SHOWN": like smtp, transcript shows SHOWN instead of COMMAND.
smtp_secret() {
  conn_send_secret "$1" "$2"
  smtp_read_reply || return 1
  [[ $SMTP_CODE == [23]* ]]
}

smtp_quit() { conn_send "QUIT"; smtp_read_reply >/dev/null; conn_close; }

# smtp_auth_mechs: mechanisms listed after AUTH in the last EHLO reply (upper case, space separated).
smtp_auth_mechs() {
  local r=${SMTP_REPLY^^}
  [[ $r =~ (^|$NL)250[-\ ]AUTH[\ =]([^$NL]*) ]] && printf '%s' "${BASH_REMATCH[2]}"
}

# auth_plain_token USER PASSWORD: base64 of "\0user\0password" (AUTH PLAIN).
auth_plain_token() { printf '\0%s\0%s' "$1" "$2" | base64 -w0; }

# ---- on mail: logs, mailboxes, configuration -----------------------------------------------------

# mail_log: the mail log, oldest first (with the rotated file, when there is one).
mail_log() { cat "$MAIL_LOG.1" "$MAIL_LOG" 2>/dev/null; }

# ---- Postfix programs without the wait after an edit
# Every Postfix program that reads main.cf waits while the file is younger than about two seconds,
# re-reading it every 0.3 s (Postfix's dict_load_file: a file changed within the same second may
# still be being written). Right after the learner's `postconf -e` or an editor's save, every check
# would wait with it: the gate's `postconf -n` took 1.5-2.1 s (docs/performance.md, "learning
# loop"). Read-only queries (postconf without -e/-X/-#, postmap -q) read a copy of /etc/postfix
# instead, with main.cf dated back: the same content and the same answers, and the copy's path is
# written back as /etc/postfix in what they print. When main.cf is older, they run as they are.
pf_read() {
  local m rc tmp out f
  m=$(stat -c %Y /etc/postfix/main.cf 2>/dev/null) || { command "$@"; return; }
  if (( m < EPOCHSECONDS - 2 )); then command "$@"; return; fi
  # One copy per script, also when the first query runs in a $(…) subshell: the path is the script's
  # ($$ is the same in its subshells), made whole in a temporary directory and moved into place.
  if [ ! -d "$PF_COPY" ]; then
    tmp=$(mktemp -d /tmp/maillab-postfix.XXXXXX) || { command "$@"; return; }
    for f in /etc/postfix/*; do ln -s "$f" "$tmp/${f##*/}"; done
    rm -f "$tmp/main.cf"
    if ! { cp /etc/postfix/main.cf "$tmp/main.cf" && touch -d "@$((EPOCHSECONDS - 10))" "$tmp/main.cf"; }; then
      rm -rf "$tmp"; command "$@"; return
    fi
    mv -T "$tmp" "$PF_COPY" 2>/dev/null || rm -rf "$tmp"
  fi
  out=$PF_COPY/.out.$BASHPID
  MAIL_CONFIG=$PF_COPY command "$@" >"$out" 2>"$out.err"
  rc=$?
  sed "s|$PF_COPY|/etc/postfix|g" "$out.err" >&2
  sed "s|$PF_COPY|/etc/postfix|g" "$out"
  rm -f "$out" "$out.err"
  return $rc
}
postconf() {
  local a
  for a in "$@"; do [[ $a == -* && $a != --* && $a == *[eX#cpP]* ]] && { command postconf "$@"; return; }; done
  pf_read postconf "$@"
}
postmap() {
  local a
  for a in "$@"; do [[ $a == -*q* ]] && { pf_read postmap "$@"; return; }; done
  command postmap "$@"
}

# pc NAME...: postconf values as Postfix uses them (expanded), one per line.
pc() { postconf -xh "$@" 2>/dev/null; }

# postfix_running: is the Postfix master process up?
# (What `postfix status` checks, without its ~40 ms of shell scripts: master's pid file names a live process.)
postfix_running() {
  local pid
  read -r pid 2>/dev/null </var/spool/postfix/pid/master.pid || return 1
  pid=${pid//[[:space:]]/}
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}

# dovecot_running: is Dovecot's master process up? (its pid file names a live process)
dovecot_running() {
  local pid
  read -r pid 2>/dev/null </run/dovecot/master.pid || return 1
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}

# iso_utc EPOCH[.FRACTION]: the time as rsyslog writes it in mail.log (UTC, with microseconds: the
# first 26 characters of a line), without forking date.
iso_utc() {
  local f=000000
  [[ $1 == *.* ]] && { f=${1#*.}000000; f=${f:0:6}; }
  TZ=UTC0 printf '%(%Y-%m-%dT%H:%M:%S)T.%s' "${1%%.*}" "$f"
}

# listening_on PORT: local IPv4/IPv6 addresses with a TCP listener on PORT (from /proc).
listening_on() {
  awk -v p="$(printf '%04X' "$1")" '
    function ip4(h) { return strtonum_("0x" substr(h,7,2)) "." strtonum_("0x" substr(h,5,2)) "." strtonum_("0x" substr(h,3,2)) "." strtonum_("0x" substr(h,1,2)) }
    function strtonum_(s,   i, c, v) { v = 0; s = toupper(substr(s, 3)); for (i = 1; i <= length(s); i++) { c = index("0123456789ABCDEF", substr(s, i, 1)) - 1; v = v * 16 + c }; return v }
    FNR > 1 {
      split($2, a, ":")
      if (a[2] != p || $4 != "0A") next
      if (length(a[1]) == 8) print ip4(a[1])
      else if (a[1] == "00000000000000000000000000000000") print "::"
      else if (a[1] == "00000000000000000000000001000000") print "::1"
      else print "ipv6:" a[1]
    }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# listens_outside PORT: is there a listener on PORT that is not loopback-only?
listens_outside() { listening_on "$1" | grep -qvE '^(127\.|::1$)'; }

# ip_in_cidr IP CIDR: is the IPv4 address inside the network? (IPv6 and names: no)
ip_to_int() { local IFS=.; set -- $1; echo $(( ($1 << 24) + ($2 << 16) + ($3 << 8) + $4 )); }
ip_in_cidr() {
  local ip=$1 net=${2%/*} bits=${2#*/}
  [[ $ip =~ ^[0-9]+(\.[0-9]+){3}$ && $net =~ ^[0-9]+(\.[0-9]+){3}$ ]] || return 1
  [ "$bits" = "$2" ] && bits=32
  [[ $bits =~ ^[0-9]+$ ]] || return 1
  local mask=$(( bits == 0 ? 0 : (0xFFFFFFFF << (32 - bits)) & 0xFFFFFFFF ))
  (( ($(ip_to_int "$ip") & mask) == ($(ip_to_int "$net") & mask) ))
}

# mbox_received_headers FILE...: per message, its topmost Received header (unfolded, one line).
mbox_received_headers() {
  awk '
    /^From / && !inhdr { inhdr = 1; rec = ""; cur = ""; next }
    inhdr && /^$/ { if (cur != "" && rec == "") rec = cur; if (rec != "") print rec; inhdr = 0; next }
    inhdr && /^[ \t]/ { if (cur != "") cur = cur " " $0; next }
    inhdr { if (cur != "" && rec == "") rec = cur; cur = ""; if (tolower($0) ~ /^received:/) cur = $0 }
  ' "$@" 2>/dev/null | tr -s ' \t' '  '
}

# partner_deliveries [sasl]: mails that came in over SMTP from partner's address and were delivered
# to the mailbox of user1 or user2. One line each:
#   <queue-id> <sasl-username or -> <local user> <tls|plain>
# (mawk, the machines' awk, has no {n,} intervals: queue ids are spelt out as 6+ characters.)
# tls: the SMTP session had switched to TLS: smtpd logs "TLS connection established" for its pid
# with smtpd_tls_loglevel >= 1 (Debian's default is 0), and always "starttls=1" in the session's
# disconnect line - but that comes only with QUIT. The delivered mail says it the moment local(8)
# has written it: its Received header names the protocol, "with ESMTPS id <queue id>" (ESMTPSA
# with AUTH; ESMTPA is AUTH without TLS). With "sasl": only mails whose client had authenticated.
# The checks' probe has another address and never sends a mail, so none of these is a check's.
partner_deliveries() {
  local found
  found=$(_partner_deliveries_log "${1:-}")
  [ -n "$found" ] || return 0
  if [[ $found == *" plain"* ]]; then
    awk 'FNR == NR {
           if (match($0, / with [A-Z0-9]+ id [0-9A-Za-z]+/)) { split(substr($0, RSTART + 1, RLENGTH - 1), w, " "); if (w[2] ~ /SMTPSA?$/) tls[w[4]] = 1 }
           next
         }
         $4 == "plain" && ($1 in tls) { $4 = "tls" }
         { print }' <(received_headers "$MAILLAB_USER1" "$MAILLAB_USER2"; echo) <(printf '%s\n' "$found")
  else
    printf '%s\n' "$found"
  fi
}
_partner_deliveries_log() {
  mail_log | awk -v ip="[$MAILLAB_PARTNER_IP]" -v u1="$MAILLAB_USER1" -v u2="$MAILLAB_USER2" -v want_sasl="${1:-}" '
    match($0, /postfix\/smtpd\[[0-9]+\]: /) {
      pid = substr($0, RSTART, RLENGTH)
      if (index($0, ": connect from ")) { tls[pid] = 0; sess[pid] = "" }
      else if (index($0, "TLS connection established from ")) tls[pid] = 1
      else if (index($0, ": disconnect from ") && $0 ~ / starttls=[1-9]/) {
        # Debian logs no TLS line by default (smtpd_tls_loglevel = 0); the session summary counts STARTTLS.
        k = split(sess[pid], qs, " "); for (i = 1; i <= k; i++) mode[qs[i]] = "tls"
      }
      else if (match($0, /: [0-9A-Za-z][0-9A-Za-z][0-9A-Za-z][0-9A-Za-z][0-9A-Za-z][0-9A-Za-z]+: client=/) && index($0, ip)) {
        q = substr($0, RSTART + 2); sub(/:.*/, "", q)
        client[q] = 1; mode[q] = tls[pid] ? "tls" : "plain"; sess[pid] = sess[pid] " " q; s = "-"
        if (match($0, /sasl_username=[^ ,]+/)) s = substr($0, RSTART + 14, RLENGTH - 14)
        sasl[q] = s
      }
      next
    }
    /postfix\/local\[[0-9]+\]: [0-9A-Za-z][0-9A-Za-z][0-9A-Za-z][0-9A-Za-z][0-9A-Za-z][0-9A-Za-z]+: / && /status=sent/ && match($0, /to=<[^@>]+/) {
      u = substr($0, RSTART + 4, RLENGTH - 4)
      q = $0; sub(/^.*postfix\/local\[[0-9]+\]: /, "", q); sub(/:.*/, "", q)
      if (u == u1 || u == u2) { n[q]++; who[q, n[q]] = u }
    }
    END {
      for (q in n) {
        if (!client[q]) continue
        if (want_sasl == "sasl" && sasl[q] == "-") continue
        for (i = 1; i <= n[q]; i++) print q, sasl[q], who[q, i], mode[q]
      }
    }'
}

# in_list WORD "LIST": is WORD (case-insensitive) one of the comma/space separated LIST entries?
in_list() {
  local w
  for w in ${2//,/ }; do [[ ${w,,} == "${1,,}" ]] && return 0; done
  return 1
}

# dovecot_auth_alive SOCKET [USER]: can USER (default postfix) connect to SOCKET and does Dovecot's
# auth server answer its handshake there? (A socket file can be left over from an older config.)
dovecot_auth_alive() {
  runuser -u "${2:-postfix}" -- perl -MIO::Socket::UNIX -e '
    my $s = IO::Socket::UNIX->new(Peer => $ARGV[0], Type => 1) or exit 2;
    print $s "VERSION\t1\t2\nCPID\t$$\n";
    local $SIG{ALRM} = sub { exit 3 }; alarm 2;
    while (<$s>) { exit 0 if /^DONE/ } exit 4;' "$1" 2>/dev/null
}

# trusted_by_mynetworks IP [NAME]: the mynetworks entry (as Postfix uses it, mynetworks_style
# included) that makes Postfix trust the client IP, known by host name NAME; nothing when none does.
# Understands addresses and networks, host names, /file/names and type:tables (postmap -q).
trusted_by_mynetworks() {
  local ip=$1 name=${2:-} entry f entries
  read -ra entries <<<"$(pc mynetworks | tr ',' ' ')"
  for entry in "${entries[@]}"; do
    case $entry in
      '!'*) continue ;;
      /*) f=$(tr ',' ' ' <"$entry" 2>/dev/null | grep -v '^#' | tr -s ' \t\n' '\n' |
                while read -r e; do ip_in_cidr "$ip" "$e" && { echo "$e"; break; }; done)
          [ -n "$f" ] && { printf '%s (%s)' "$entry" "$f"; return 0; } ;;
      *:*/*|*:[a-z]*) [[ $entry == \[* ]] && continue
          [ -n "$(postmap -q "$ip" "$entry" 2>/dev/null)" ] && { printf '%s' "$entry"; return 0; } ;;
      *[a-zA-Z]*) [ -n "$name" ] && [ "${entry,,}" = "${name,,}" ] && { printf '%s' "$entry"; return 0; } ;;
      *) ip_in_cidr "$ip" "$entry" && { printf '%s' "$entry"; return 0; } ;;
    esac
  done
  return 1
}

# sasl_socket: where smtpd finds Dovecot's socket in its sessions, seen from outside its chroot.
# Sets SASL_PATH (smtpd_sasl_path), SASL_SOCKET (the file) and SASL_CHROOT_MISS (1: an absolute
# path that the chrooted smtpd cannot reach). smtpd_sasl_path is relative to the queue directory;
# an absolute path works only without chroot: Debian's master.cf runs smtpd chrooted in
# /var/spool/postfix, so after its first session it looks for /var/spool/postfix/var/spool/...
sasl_socket() {
  local q chroot
  { read -r SASL_PATH; read -r q; } < <(pc smtpd_sasl_path queue_directory)
  SASL_CHROOT_MISS=0
  if [[ $SASL_PATH == inet:* ]]; then SASL_SOCKET=$SASL_PATH; return; fi
  if [[ $SASL_PATH != /* ]]; then SASL_SOCKET="$q/$SASL_PATH"; return; fi
  SASL_SOCKET=$SASL_PATH
  chroot=$(postconf -M smtp/inet 2>/dev/null | awk '{ print $5 }')
  [ "$chroot" = y ] && ! [ -S "$q$SASL_PATH" ] && SASL_CHROOT_MISS=1
  return 0
}

# ---- shared dialogues: one per evaluation, for all checks of it ----------------------------------
# survey_run NAME FUNCTION: the first check of an evaluation (MAILLAB_RUN) that asks runs FUNCTION;
# the others wait for it and get its results: the SV_* variables it set, and its transcript.
SURVEY_DIR=/tmp/maillab-survey
survey_run() {
  local base="$SURVEY_DIR/${MAILLAB_RUN:-once}.$1" lock
  mkdir -p "$SURVEY_DIR"
  exec {lock}>"$base.lock"
  flock -w 30 "$lock"
  if [ ! -e "$base.vars" ]; then
    find "$SURVEY_DIR" -type f -mmin +2 -delete 2>/dev/null
    "$2" >"$base.log" 2>&1
    # -g: the file is sourced inside this function, the variables must be global.
    declare -p $(compgen -v SV_) 2>/dev/null | sed 's/^declare -/declare -g -/' >"$base.vars"
  fi
  exec {lock}>&-
  . "$base.vars"
  printf '# shared dialogue of this check run (%s):\n' "$1"
  cat "$base.log"
}

# The recipients of the plain survey, in this order: the local users at the test domain and at the
# host name, an unknown user at the test domain, and a foreign domain (a relay attempt).
survey_rcpts() {
  SURVEY_RCPTS=("$MAILLAB_USER1@$MAILLAB_DOMAIN" "$MAILLAB_USER2@$MAILLAB_DOMAIN" "$MAILLAB_USER1@$MAIL_HOST" "maillab-no-such-user@$MAILLAB_DOMAIN" "someone@elsewhere.example")
}

_smtp_plain_survey() {
  SV_SMTP_CONNECTED=0 SV_SMTP_SILENT=0 SV_SMTP_ERROR="" SV_SMTP_BANNER="" SV_SMTP_BANNER_CODE="" SV_SMTP_EHLO="" SV_SMTP_MAIL_CODE="" SV_SMTP_MAIL_REPLY=""
  declare -gA SV_RCPT_CODE=() SV_RCPT_REPLY=()
  if ! smtp_open "$MAIL_HOST" 25; then
    SV_SMTP_ERROR=$(conn_error)
    SV_SMTP_BANNER_CODE=$SMTP_CODE
    SV_SMTP_BANNER=$(first_line "$SMTP_REPLY")
    # nc -v says "... succeeded!" once connected: the port is open, but no greeting came - smtpd
    # stopped at its start (a fatal error in mail.log) or hangs. Not "no connection".
    if [ -z "$SV_SMTP_BANNER_CODE" ] && [[ $SV_SMTP_ERROR == *succeeded* ]]; then SV_SMTP_SILENT=1 SV_SMTP_ERROR=""; fi
    conn_close
    return
  fi
  SV_SMTP_CONNECTED=1 SV_SMTP_BANNER_CODE=$SMTP_CODE SV_SMTP_BANNER=$(first_line "$SMTP_REPLY")
  smtp "EHLO $CHECK_HELO"
  SV_SMTP_EHLO=$SMTP_REPLY
  smtp "MAIL FROM:<$CHECK_FROM>"
  SV_SMTP_MAIL_CODE=$SMTP_CODE SV_SMTP_MAIL_REPLY=$(last_line "$SMTP_REPLY")
  if [[ $SV_SMTP_MAIL_CODE == 2* ]]; then
    local r
    survey_rcpts
    for r in "${SURVEY_RCPTS[@]}"; do
      smtp "RCPT TO:<$r>"
      SV_RCPT_CODE[$r]=$SMTP_CODE
      SV_RCPT_REPLY[$r]=$(last_line "$SMTP_REPLY")
    done
    smtp "RSET"
  fi
  smtp_quit
}
# smtp_survey: one plain SMTP session from the probe (banner, EHLO, MAIL FROM, the RCPTs above,
# RSET, QUIT). Sets SV_SMTP_CONNECTED (1/0), SV_SMTP_SILENT (1: port open, but no greeting), SV_SMTP_ERROR, SV_SMTP_BANNER(_CODE), SV_SMTP_EHLO,
# SV_SMTP_MAIL_CODE/_REPLY and SV_RCPT_CODE[addr], SV_RCPT_REPLY[addr].
smtp_survey() { survey_run smtp-plain _smtp_plain_survey; survey_rcpts; }

# smtp_session_or_fail [later-step]: after smtp_survey, in an SMTP check: fails the check, in words
# that fit, when the survey got no SMTP session (nothing listening from outside, a port that takes
# the connection but never greets because smtpd stops at its start, a refusing greeting).
# later-step: the check belongs to a step after "open Postfix to the network": point back to it.
smtp_session_or_fail() {
  [ "$SV_SMTP_CONNECTED" = 1 ] && return 0
  if [ "$SV_SMTP_SILENT" = 1 ]; then
    hint "Port 25 ist offen, aber Postfix grüßt nicht: smtpd bricht beim Start ab oder hängt. Den Grund nennt /var/log/mail.log (eine Zeile mit „fatal:“ von postfix/smtpd)." \
         "Port 25 is open, but Postfix does not greet: smtpd stops at its start or hangs. /var/log/mail.log says why (a line with \"fatal:\" from postfix/smtpd)."
    fail "Port 25 nimmt Verbindungen an, aber Postfix grüßt nicht (220 fehlt)" "Port 25 takes connections, but Postfix does not greet (no 220)"
  fi
  if [ -n "$SV_SMTP_BANNER_CODE" ]; then
    hint "Postfix grüßt nicht mit 220, sondern mit: $SV_SMTP_BANNER. Steht eine Einschränkung wie smtpd_client_restrictions = reject in main.cf?" \
         "Postfix does not greet with 220, it says: $SV_SMTP_BANNER. Is there a restriction like smtpd_client_restrictions = reject in main.cf?"
    fail "Unerwartete Begrüßung: $SV_SMTP_BANNER" "Unexpected greeting: $SV_SMTP_BANNER"
  fi
  if [ "${1:-}" = later-step ]; then
    hint "Port 25 ist von außen nicht erreichbar – das richtet der Schritt „Postfix für das Netz öffnen“ ein (inet_interfaces = all, systemctl restart postfix)." \
         "Port 25 is not reachable from outside – the step \"Open Postfix to the network\" sets that up (inet_interfaces = all, systemctl restart postfix)."
  fi
  fail "Von außen keine Verbindung zu Port 25 (${SV_SMTP_ERROR:-keine Antwort})" "No connection to port 25 from outside (${SV_SMTP_ERROR:-no answer})"
}

_smtp_tls_survey() {
  SV_TLS_OK=0 SV_TLS_ERROR="" SV_TLS_EHLO="" SV_TLS_MECHS="" SV_AUTH_CODE="" SV_AUTH_REPLY="" SV_AUTH_RELAY_CODE="" SV_AUTH_RELAY_REPLY=""
  conn_open_starttls smtp "$MAIL_HOST" 25
  if ! smtp "EHLO $CHECK_HELO"; then
    SV_TLS_ERROR=$(conn_error)
    conn_close
    return
  fi
  SV_TLS_OK=1 SV_TLS_EHLO=$SMTP_REPLY SV_TLS_MECHS=$(smtp_auth_mechs)
  if [[ " $SV_TLS_MECHS " == *" PLAIN "* ]]; then
    # Dovecot's first PAM login can take a moment (its auth worker starts): wait longer for it.
    NET_TIMEOUT=8 smtp_secret "AUTH PLAIN $(auth_plain_token "$MAILLAB_USER1" "$MAILLAB_PASSWORD1")" "AUTH PLAIN <$MAILLAB_USER1 + password>"
    SV_AUTH_CODE=$SMTP_CODE SV_AUTH_REPLY=$(last_line "$SMTP_REPLY")
  elif [[ " $SV_TLS_MECHS " == *" LOGIN "* ]]; then
    smtp "AUTH LOGIN" && smtp_secret "$(printf '%s' "$MAILLAB_USER1" | base64 -w0)" "<$MAILLAB_USER1>" &&
      NET_TIMEOUT=8 smtp_secret "$(printf '%s' "$MAILLAB_PASSWORD1" | base64 -w0)" "<password>"
    SV_AUTH_CODE=$SMTP_CODE SV_AUTH_REPLY=$(last_line "$SMTP_REPLY")
  fi
  if [ "$SV_AUTH_CODE" = 235 ] && smtp "MAIL FROM:<$CHECK_FROM>"; then
    smtp "RCPT TO:<someone@elsewhere.example>"
    SV_AUTH_RELAY_CODE=$SMTP_CODE SV_AUTH_RELAY_REPLY=$(last_line "$SMTP_REPLY")
    smtp "RSET"
  fi
  smtp_quit
}
# smtp_tls_survey: one STARTTLS session from the probe: EHLO, AUTH as user1 (PLAIN, else LOGIN)
# when offered, RCPT to a foreign address after it, RSET, QUIT. Sets SV_TLS_OK, SV_TLS_ERROR,
# SV_TLS_EHLO, SV_TLS_MECHS, SV_AUTH_CODE/_REPLY, SV_AUTH_RELAY_CODE/_REPLY.
smtp_tls_survey() { survey_run smtp-tls _smtp_tls_survey; }

# ehlo_has REPLY KEYWORD: does an EHLO reply announce KEYWORD?
ehlo_has() { [[ ${1^^} =~ (^|$NL)250[-\ ]${2^^}([\ =]|$NL|$) ]]; }

# ---- IMAP/POP3 with STARTTLS in one session (perl: nc cannot switch to TLS midway) --------------
STARTTLS_PERL='
use strict; use IO::Socket::INET; use IO::Socket::SSL;
my ($host, $port, $proto, $timeout) = @ARGV; $| = 1;
my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Timeout => $timeout)
  or do { print "RESULT connect=0\nRESULT error=$!\n"; exit 0 };
$s->timeout($timeout);
sub rd { my $l = <$s>; return undef unless defined $l; $l =~ s/\r?\n$//; print "S: $l\n"; return $l }
sub wr { print $s "$_[0]\r\n"; print "C: $_[0]\n" }
my $g = rd(); print "RESULT connect=1\n";
print "RESULT greeting=", ($g // ""), "\n";
my ($caps, $ok) = ("", 0);
if ($proto eq "imap") {
  wr("a CAPABILITY");
  while (defined(my $l = rd())) { $caps .= " $l" if $l =~ /^\* CAPABILITY/i; last if $l =~ /^a /i }
  wr("b STARTTLS"); while (defined(my $l = rd())) { if ($l =~ /^b /i) { $ok = $l =~ /^b OK/i; last } }
} else {
  wr("CAPA");
  my $first = rd(); if (defined $first && $first =~ /^\+OK/) { while (defined(my $l = rd())) { last if $l eq "."; $caps .= " $l" } }
  wr("STLS"); my $l = rd(); $ok = defined $l && $l =~ /^\+OK/;
}
$caps =~ s/^\s+//; print "RESULT caps=$caps\n"; print "RESULT starttls=", ($ok ? 1 : 0), "\n";
exit 0 unless $ok;
if (IO::Socket::SSL->start_SSL($s, SSL_verify_mode => SSL_VERIFY_NONE, Timeout => $timeout)) {
  print "RESULT tls=1\nRESULT tlsinfo=", $s->get_sslversion, " ", $s->get_cipher, "\n";
  if ($proto eq "imap") { wr("c LOGOUT"); while (defined(my $l = rd())) { last if $l =~ /^c /i } }
  else { wr("QUIT"); rd(); }
} else { print "RESULT tls=0\nRESULT error=", IO::Socket::SSL::errstr(), "\n" }
'
# starttls_probe imap|pop3 [PREFIX]: from the probe, one session to mail: greeting, capabilities,
# STARTTLS (STLS) and the TLS handshake, then LOGOUT/QUIT. No login. Sets <PREFIX>CONNECT ERROR
# GREETING CAPS (before TLS) STARTTLS TLS TLSINFO (PREFIX default ST_); prints the dialogue.
starttls_probe() {
  local port=143 line key prefix=${2:-ST_}
  [ "$1" = pop3 ] && port=110
  for key in CONNECT STARTTLS TLS; do printf -v "$prefix$key" 0; done
  for key in ERROR GREETING CAPS TLSINFO; do printf -v "$prefix$key" ''; done
  while IFS= read -r line; do
    if [[ $line == "RESULT "* ]]; then
      line=${line#RESULT }; key=${line%%=*}
      printf -v "$prefix${key^^}" '%s' "${line#*=}"
    else
      printf '%s\n' "$line"
    fi
  done < <(timeout 15 perl -e "$STARTTLS_PERL" "$MAIL_HOST" "$port" "$1" "$NET_TIMEOUT" 2>&1)
}
_imap_survey() { starttls_probe imap SV_IMAP_; }
_pop3_survey() { starttls_probe pop3 SV_POP3_; }
# imap_survey / pop3_survey: starttls_probe once per evaluation, results in SV_IMAP_* / SV_POP3_*.
imap_survey() { survey_run imap _imap_survey; }
pop3_survey() { survey_run pop3 _pop3_survey; }

# ---- what happened since the last relevant change ------------------------------------------------
# changed_at INPUT...: when the latest change of these inputs happened, as far as the app saw it,
# in epoch seconds (0: unknown): the app's last look before the change, when the inputs were still
# as before. A command's own complaints (postfix reload, systemctl restart) are logged while it
# runs, before the app notices the change it made: they come after that look.
# (MAILLAB_CHANGED has milliseconds: "postfix=1764500000.123".)
changed_at() {
  local latest=0 item name t want
  for item in ${MAILLAB_CHANGED:-}; do
    name=${item%%=*} t=${item#*=}
    for want in "$@"; do [ "$name" = "$want" ] && later_than "$t" "$latest" && latest=$t; done
  done
  printf '%s' "$latest"
}
# later_than A B: is the epoch time A (seconds, maybe with a fraction) after B?
later_than() {
  local a=${1%%.*} b=${2%%.*} fa=000000 fb=000000
  [[ $1 == *.* ]] && { fa=${1#*.}000000; fa=${fa:0:6}; }
  [[ $2 == *.* ]] && { fb=${2#*.}000000; fb=${fb:0:6}; }
  (( a > b || (a == b && 10#$fa > 10#$fb) ))
}
# mail_log_since EPOCH[.FRACTION]: the mail log's lines from then on (rsyslog writes UTC ISO stamps
# with microseconds).
mail_log_since() {
  local t=${1:-0}
  if [ "${t%%.*}" -le 0 ]; then mail_log; return; fi
  mail_log | awk -v since="$(iso_utc "$t")" 'substr($1, 1, 26) >= since'
}

# ---- what Postfix itself complains about (on mail) ----------------------------------------------
# A learner's typo in main.cf is the lesson: quote Postfix's own words and say what to do, instead of
# guessing from the outside ("cannot connect", "mydestination is empty").

# postfix_log_problems EPOCH: Postfix's own complaints in mail.log since then (fatal, panic, error
# and warning lines of its programs), each once and without the pid, the last three, oldest first.
# Left out: consequences that say nothing about the cause (a process's exit status, the throttling
# notice - the gate explains it -, postfix-script's "cannot execute postconf" after a parse error,
# its "the Postfix mail system is not running" / "is already running" for a reload or start that
# came at the wrong time), OpenSSL's detail lines, and a parameter set twice (every program says so;
# postconf_warnings does).
postfix_log_problems() {
  mail_log_since "${1:-0}" | awk '
    match($0, / (postfix[a-z0-9\/-]*|postmulti|postconf)\[[0-9]+\]: (fatal|panic|error|warning): /) {
      m = substr($0, RSTART + 1); sub(/\[[0-9]+\]: /, ": ", m)
      if (m ~ /warning: process .* exit status|bad command startup -- throttling|warning: TLS library problem|cannot execute \/usr\/sbin\/postconf|the Postfix mail system is (not|already) running|overriding earlier entry/) next
      l[++n] = m
    }
    END {
      for (i = n; i >= 1 && k < 3; i--) if (!(l[i] in seen)) { seen[l[i]] = 1; out[++k] = l[i] }
      for (i = k; i >= 1; i--) print out[i]
    }'
}

# postconf_warnings: what postconf warns about in the configuration now (e.g. "unused parameter:
# inet_interface=all", a misspelt parameter name), one per line.
postconf_warnings() { postconf -n 2>&1 >/dev/null | grep -F 'warning:' | sed 's/^[^ ]*postconf: warning: //'; }

# explain_postfix EPOCH: hints in the lesson's words for what Postfix complained about since then
# (mail.log) and for postconf's warnings about main.cf. Succeeds when Postfix reported something that
# keeps it from serving mail (a fatal error, a table it cannot read, a restriction it does not
# know): then guesses from the outside would only mislead.
explain_postfix() {
  local line msg what serious=1 w file apply="postfix reload" after=" (nach Abstürzen: systemctl restart postfix)" after_en=" (after crashes: systemctl restart postfix)"
  # A Postfix that is not running (a restart that failed) reloads nothing: it has to start again.
  postfix_running || apply="systemctl start postfix" after="" after_en=""
  while IFS= read -r w; do
    [ -n "$w" ] || continue
    if [[ $w == *"overriding earlier entry: "* ]]; then
      what=${w#*overriding earlier entry: }; what=${what%%=*}
      hint "postconf warnt: „$w“ – $what steht zweimal in main.cf; es gilt die spätere Zeile. Löschen Sie die andere, damit main.cf zeigt, was gilt." \
           "postconf warns: \"$w\" – $what is in main.cf twice; the later line applies. Delete the other one, so that main.cf shows what applies."
    elif [[ $w == *"unused parameter: "* ]]; then
      what=${w#*unused parameter: }; what=${what%%=*}
      hint "postconf warnt: „$w“ – einen Parameter $what kennt Postfix nicht, er wirkt also nicht: ein Tippfehler im Namen? (postconf -d zeigt alle Namen, man 5 postconf erklärt sie.)" \
           "postconf warns: \"$w\" – Postfix has no parameter $what, so it has no effect: a typo in the name? (postconf -d lists every name, man 5 postconf explains them.)"
    else
      hint "postconf warnt: „$w“" "postconf warns: \"$w\""
    fi
  done < <(postconf_warnings)
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    msg=${line#*: }
    case $line in
      *"missing '=' after attribute name"*)
        serious=0
        hint "mail.log: „$line“ – in dieser Zeile fehlt das „=“ (Schreibweise: name = wert). Korrigieren Sie sie, dann $apply." \
             "mail.log: \"$line\" – the \"=\" is missing in that line (spelling: name = value). Fix it, then $apply." ;;
      *"specify at least one working instance of"*)
        serious=0
        hint "smtpd bricht ab (mail.log: „$msg“): Ohne reject_unauth_destination wäre Postfix ein offenes Relay, also läuft smtpd gar nicht. Schreiben Sie es ans Ende von smtpd_recipient_restrictions (wie auf der Folie: permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination), dann systemctl restart postfix (ein reload beendet die Drosselung nach Abstürzen nicht)." \
             "smtpd stops (mail.log: \"$msg\"): without reject_unauth_destination Postfix would be an open relay, so smtpd does not run at all. Put it at the end of smtpd_recipient_restrictions (as on the slide: permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination), then systemctl restart postfix (a reload does not end the throttling after crashes)." ;;
      *"unknown smtpd restriction: "*)
        serious=0 what=${line#*unknown smtpd restriction: }
        hint "mail.log: „$line“ – $what ist keine Postfix-Restriktion, ein Tippfehler? Postfix antwortet dann auf RCPT mit „451 4.3.5 Server configuration error“. Korrigieren Sie die Schreibweise (man 5 postconf), dann $apply." \
             "mail.log: \"$line\" – $what is no Postfix restriction, a typo? Postfix then answers RCPT with \"451 4.3.5 Server configuration error\". Fix the spelling (man 5 postconf), then $apply." ;;
      *"no local interface found for "*|*"inet_interfaces: host not found: "*)
        serious=0 what=${line##*found for }; what=${what##*host not found: }
        hint "mail.log: „$line“ – inet_interfaces nennt $what, aber mail hat diese Adresse nicht (mail: $MAILLAB_MAIL_IP). So startet Postfix nicht neu. Setzen Sie inet_interfaces = all (oder $MAILLAB_MAIL_IP), dann systemctl restart postfix." \
             "mail.log: \"$line\" – inet_interfaces names $what, but mail has no such address (mail: $MAILLAB_MAIL_IP). Postfix does not restart like this. Set inet_interfaces = all (or $MAILLAB_MAIL_IP), then systemctl restart postfix." ;;
      *"bad mask length"*|*"bad net/mask pattern"*|*"bad address pattern"*)
        serious=0 what=${msg#warning: }; what=${what%%:*}
        hint "mail.log: „$line“ – ein Eintrag in $what ist keine gültige Adresse oder Netzmaske (Schreibweise: 127.0.0.0/8 [::1]/128). Postfix antwortet dann mit „451 4.3.0 Temporary lookup failure“. Korrigieren Sie ihn, dann $apply." \
             "mail.log: \"$line\" – an entry of $what is no valid address or netmask (spelling: 127.0.0.0/8 [::1]/128). Postfix then answers \"451 4.3.0 Temporary lookup failure\". Fix it, then $apply." ;;
      *"open database "*": No such file"*|*" is unavailable. "*|*"is older than source file"*)
        [[ $line == *"is older than source file"* ]] || serious=0
        file=${line##*source file }
        if [[ $line != *"is older than source file"* ]]; then file=${line#*open database }; file=${file%%.db*}; file=${file%%.cdb*}; file=${file%%.lmdb*}; fi
        if [ "$file" = /etc/aliases ]; then what="newaliases"; else what="postmap $file"; fi
        hint "mail.log: „$line“ – nach einer Änderung an $file fehlt: $what (Postfix liest die Datenbank-Datei, nicht den Text), dann postfix reload. Bis dahin antwortet Postfix mit „451 4.3.0 Temporary lookup failure“ oder kennt die neuen Einträge nicht." \
             "mail.log: \"$line\" – after a change of $file this is missing: $what (Postfix reads the database file, not the text), then postfix reload. Until then Postfix answers \"451 4.3.0 Temporary lookup failure\" or does not know the new entries." ;;
      *" lookup error for "*|*": table lookup problem"*)
        serious=0 file=table
        [[ $line =~ [a-z]+:(/[^\ :\"]+) ]] && file=${BASH_REMATCH[1]}
        hint "mail.log: „$line“ – Postfix kann die Tabelle $file nicht lesen. Nach jeder Änderung: postmap $file, und nach dem ersten Anlegen postfix reload (laufende smtpd-Prozesse behalten sonst den Fehler)." \
             "mail.log: \"$line\" – Postfix cannot read the table $file. After every change: postmap $file, and after creating it postfix reload (running smtpd processes keep the error otherwise)." ;;
      *"could not find any active network interfaces"*)
        serious=0 what=$(pc inet_protocols)
        hint "mail.log: „$line“ – inet_protocols = $what: mail hat keine Adresse dieser Art (partner verbindet sich über IPv4). Setzen Sie inet_protocols = all (oder ipv4), dann systemctl restart postfix." \
             "mail.log: \"$line\" – inet_protocols = $what: mail has no address of that kind (partner connects over IPv4). Set inet_protocols = all (or ipv4), then systemctl restart postfix." ;;
      *"no SASL authentication mechanisms"*)
        serious=0
        hint "smtpd bricht ab (mail.log: „$msg“): Postfix bekommt keine Anmeldeverfahren – Dovecot antwortet nicht auf smtpd_sasl_path, smtpd_sasl_type ist nicht dovecot, oder smtpd_sasl_security_options schließt alle aus (noplaintext verbietet PLAIN und LOGIN). Danach systemctl restart postfix (ein reload beendet die Drosselung nicht)." \
             "smtpd stops (mail.log: \"$msg\"): Postfix gets no authentication mechanisms – Dovecot does not answer at smtpd_sasl_path, smtpd_sasl_type is not dovecot, or smtpd_sasl_security_options rules them all out (noplaintext forbids PLAIN and LOGIN). Then systemctl restart postfix (a reload does not end the throttling)." ;;
      *"SASL: Connect to "*" failed"*)
        hint "mail.log: „$line“ – Postfix erreicht Dovecots Socket nicht: smtpd_sasl_path (relativ zu /var/spool/postfix) und der unix_listener in /etc/dovecot/conf.d/10-master.conf müssen dieselbe Datei nennen, und Dovecot muss laufen." \
             "mail.log: \"$line\" – Postfix cannot reach Dovecot's socket: smtpd_sasl_path (relative to /var/spool/postfix) and the unix_listener in /etc/dovecot/conf.d/10-master.conf must name the same file, and Dovecot must be running." ;;
      *"cannot get "*" from file"*|*"cannot load "*" certificate"*)
        hint "mail.log: „$line“ – so gibt es kein STARTTLS: smtpd_tls_cert_file und smtpd_tls_key_file müssen auf lesbare Dateien zeigen (Debian: /etc/ssl/certs/ssl-cert-snakeoil.pem und /etc/ssl/private/ssl-cert-snakeoil.key)." \
             "mail.log: \"$line\" – no STARTTLS like this: smtpd_tls_cert_file and smtpd_tls_key_file must name readable files (Debian: /etc/ssl/certs/ssl-cert-snakeoil.pem and /etc/ssl/private/ssl-cert-snakeoil.key)." ;;
      *": fatal: "*|*": panic: "*|*": error: "*)
        serious=0
        hint "mail.log: „$line“ – damit nimmt Postfix keine Mails an. Korrigieren Sie die Ursache, dann $apply$after." \
             "mail.log: \"$line\" – with this Postfix accepts no mail. Fix the cause, then $apply$after_en." ;;
      *)
        hint "mail.log meldet: „$line“" "mail.log says: \"$line\"" ;;
    esac
  done < <(postfix_log_problems "$1")
  return $serious
}

# postfix_reload_pending: main.cf or master.cf changed after Postfix last read them (qmgr restarts
# on every reload and restart; smtpd processes may live on with the old settings for a while).
# Prints the changed file.
postfix_reload_pending() {
  local qpid
  qpid=$(pgrep -o -x qmgr) || return 1
  # qmgr's start: now - uptime + its start tick (/proc/<pid>/stat field 22), to a few ms; the files'
  # times with their fractions (find %T@). A 0.2 s margin for the two clocks' reading.
  find /etc/postfix/main.cf /etc/postfix/master.cf -printf '%T@ %p\n' 2>/dev/null |
    awk -v now="$EPOCHREALTIME" -v hz="$(getconf CLK_TCK)" -v stat="$(cat /proc/"$qpid"/stat 2>/dev/null)" -v up="$(cut -d' ' -f1 /proc/uptime)" '
      BEGIN { n = split(stat, f, " "); start = now - up + f[22] / hz; found = 0 }
      n >= 22 && $1 > start + 0.2 && !found { print $2; found = 1 }
      END { exit !found }'
}

# ---- mailboxes: mbox in /var/mail, ~/mbox (where `mail` moves read mail), Maildir ----------------
# mailbox_files USER...: every file that can hold a user's mail.
mailbox_files() {
  local u home
  for u in "$@"; do
    home=$(getent passwd "$u" | cut -d: -f6)
    printf '%s\n' "/var/mail/$u"
    [ -n "$home" ] && printf '%s\n' "$home/mbox" && find "$home/Maildir" -type f -path '*/Maildir/*' \( -path '*/new/*' -o -path '*/cur/*' \) 2>/dev/null
  done
}
# received_headers USER...: per message in any of their mailboxes, its topmost Received header.
received_headers() {
  local mboxes=() maildirs=() f
  while IFS= read -r f; do
    [ -f "$f" ] || continue
    case $f in */Maildir/*) maildirs+=("$f") ;; *) mboxes+=("$f") ;; esac
  done < <(mailbox_files "$@")
  [ ${#mboxes[@]} -gt 0 ] && mbox_received_headers "${mboxes[@]}"
  # A Maildir file is one message: its header starts at the first line.
  [ ${#maildirs[@]} -gt 0 ] && awk '
    FNR == 1 { cur = ""; rec = ""; done = 0 }
    done { next }
    /^\r?$/ { if (cur != "" && rec == "") rec = cur; if (rec != "") print rec; done = 1; next }
    /^[ \t]/ { if (cur != "") cur = cur " " $0; next }
    { if (cur != "" && rec == "") rec = cur; cur = ""; if (rec == "" && tolower($0) ~ /^received:/) cur = $0 }
  ' "${maildirs[@]}" 2>/dev/null | tr -s ' \t\r' '   '
  return 0
}

# ---- Dovecot sessions from partner, from mail.log -------------------------------------------------
# dovecot_sessions: one line per login from partner's address, oldest first:
#   <proto> <user> <tls|plain> <read count|-> <session>
# tls: the login line says "TLS" (not "secured": that is a trusted network without encryption).
# read count from the session's end line, "Logged out" or "Connection closed" alike (IMAP
# body_count, POP3 retr + top), "-" while still logged in.
dovecot_sessions() {
  mail_log | awk -v rip="rip=$MAILLAB_PARTNER_IP," '
    /dovecot: (imap|pop3)-login: Login: / && index($0, rip) {
      p = $0; sub(/^.*dovecot: /, "", p); sub(/-login:.*/, "", p)
      u = $0; sub(/^.*user=</, "", u); sub(/>.*/, "", u)
      s = $0; sub(/^.*session=</, "", s); sub(/>.*/, "", s)
      tls = ($0 ~ /, TLS[,:]/) ? "tls" : "plain"
      order[++n] = s; proto[s] = p; user[s] = u; mode[s] = tls; got[s] = "-"
    }
    /dovecot: (imap|pop3)\([^)]*\)<[0-9]+><[^>]+>: Disconnected/ {
      s = $0; sub(/^[^<]*<[0-9]+></, "", s); sub(/>.*/, "", s)
      if (!(s in proto)) next
      k = 0
      if (match($0, /body_count=[0-9]+/)) k += substr($0, RSTART + 11, RLENGTH - 11)
      if (match($0, /retr=[0-9]+/)) k += substr($0, RSTART + 5, RLENGTH - 5)
      if (match($0, /top=[0-9]+/)) k += substr($0, RSTART + 4, RLENGTH - 4)
      got[s] = k
    }
    END { for (i = 1; i <= n; i++) { s = order[i]; print proto[s], user[s], mode[s], got[s], s } }'
}

# dovecot_last_attempt PROTO: partner's last imap/pop3-login line for PROTO (a login, a failure, or
# a connection that ended without one), for what went wrong last.
dovecot_last_attempt() {
  mail_log | awk -v rip="rip=$MAILLAB_PARTNER_IP," -v want="dovecot: $1-login: " 'index($0, rip) && index($0, want) { l = $0 } END { print l }'
}

# check_learner_read imap|pop3 (12.2 step 2, on mail): evidence that the learner logged in from
# partner by that protocol as user1 or user2, over TLS, and read a mail (Dovecot's logout line counts
# what was fetched: IMAP body_count, POP3 retr). Checks never log in as the users, so such a session
# is the learner's. What went wrong otherwise is said in the order a learner meets it.
check_learner_read() {
  local PROTO=$1 up tool read_how mine good user count session last when
  up=${PROTO^^}
  tool=imtest read_how="a SELECT INBOX, b FETCH 1 BODY[], c LOGOUT"
  [ "$PROTO" = pop3 ] && tool=pop3test read_how="LIST, RETR 1, QUIT"
  mine=$(dovecot_sessions | awk -v p="$PROTO" -v u1="$MAILLAB_USER1" -v u2="$MAILLAB_USER2" '$1 == p && ($2 == u1 || $2 == u2)')
  good=$(awk '$3 == "tls" && $4 != "-" && $4 > 0' <<<"$mine" | tail -n1)
  if [ -n "$good" ]; then
    read -r _ user _ count session <<<"$good"
    note "session $session: $PROTO login as $user over TLS, $count message(s) read"
    pass "$up: als $user über TLS angemeldet und $count Mail(s) gelesen" "$up: logged in as $user over TLS and read $count mail(s)"
  fi
  if ! dovecot_running; then
    hint "Dovecot läuft nicht – $tool bekommt so nur „Connection refused“. Warum, sagt systemctl status dovecot (ein Fehler in /etc/dovecot?); nach der Korrektur: systemctl start dovecot." \
         "Dovecot is not running – $tool gets nothing but \"Connection refused\". systemctl status dovecot says why (an error in /etc/dovecot?); after the fix: systemctl start dovecot."
  fi
  if [ -n "$(awk '$3 == "plain"' <<<"$mine")" ]; then
    hint "Sie haben sich per $up ohne TLS angemeldet – das Passwort ging im Klartext übers Netz, und das zählt nicht. Dass Dovecot das zuließ, heißt: disable_plaintext_auth steht auf no (oder partner steht in login_trusted_networks). Setzen Sie es zurück auf yes und melden Sie sich mit $tool -t \"\" … an (STARTTLS)." \
         "You logged in by $up without TLS – the password crossed the network in plain text, and that does not count. Dovecot allowed it, so disable_plaintext_auth is no (or partner is in login_trusted_networks). Set it back to yes and log in with $tool -t \"\" … (STARTTLS)."
  fi
  if [ -n "$(awk '$3 == "tls" && $4 == "-"' <<<"$mine")" ]; then
    hint "Sie sind per $up angemeldet: lesen Sie die Mail ($read_how) und melden Sie sich ab – Dovecot schreibt erst beim Abmelden ins Log, was gelesen wurde." \
         "You are logged in by $up: read the mail ($read_how) and log out – Dovecot logs what was read only when you log out."
  elif [ -n "$(awk '$3 == "tls" && $4 == "0"' <<<"$mine")" ]; then
    hint "Sie haben sich per $up über TLS angemeldet, aber keine Mail gelesen ($read_how)." "You logged in by $up over TLS but read no mail ($read_how)."
  fi
  last=$(dovecot_last_attempt "$PROTO")
  when=${last:11:8}
  if [ -n "$last" ] && [[ $last != *": Login: "* ]]; then
    note "$last"
    if [[ $last == *", TLS"* ]]; then
      if [[ $last == *"auth failed"* ]]; then
        hint "Ihre letzte Anmeldung per $up ($when UTC) ist gescheitert (auth failed): Benutzername oder Passwort stimmen nicht. Passwörter: $MAILLAB_USER1 = $MAILLAB_PASSWORD1, $MAILLAB_USER2 = $MAILLAB_PASSWORD2." \
             "Your last $up login ($when UTC) failed (auth failed): wrong user name or password. Passwords: $MAILLAB_USER1 = $MAILLAB_PASSWORD1, $MAILLAB_USER2 = $MAILLAB_PASSWORD2."
      fi
    elif [[ $last == *"auth failed"* || $last == *"plaintext"* ]]; then
      hint "Ihr letzter Anmeldeversuch per $up ($when UTC) lief ohne TLS: Dovecot nimmt Passwörter nur nach STARTTLS an (disable_plaintext_auth = yes) – am Passwort liegt es nicht. Verwenden Sie $tool -t \"\" -a $MAILLAB_USER1 mail." \
           "Your last $up login attempt ($when UTC) was without TLS: Dovecot takes passwords only after STARTTLS (disable_plaintext_auth = yes) – it is not the password. Use $tool -t \"\" -a $MAILLAB_USER1 mail."
    elif [[ $last == *"no auth attempts"* ]]; then
      hint "Ihre letzte $up-Verbindung von partner ($when UTC) lief ohne STARTTLS und ohne Anmeldung: Ohne Verschlüsselung bietet Dovecot keine Anmeldung an ($tool meldet dann „Authentication failed. no mechanism available“). Mit -t \"\" macht $tool zuerst STARTTLS: $tool -t \"\" -a $MAILLAB_USER1 mail." \
           "Your last $up connection from partner ($when UTC) had no STARTTLS and no login: without encryption Dovecot offers no login ($tool then says \"Authentication failed. no mechanism available\"). With -t \"\" $tool does STARTTLS first: $tool -t \"\" -a $MAILLAB_USER1 mail."
    fi
  fi
  hint "Melden Sie sich auf partner mit $tool -t \"\" -a $MAILLAB_USER1 mail an und lesen Sie die Mail aus Lab 12.1 ($read_how)." \
       "On partner, log in with $tool -t \"\" -a $MAILLAB_USER1 mail and read the mail from Lab 12.1 ($read_how)."
  fail "Noch keine $up-Sitzung von partner über TLS mit gelesener Mail" "No $up session from partner over TLS with a mail read yet"
}
