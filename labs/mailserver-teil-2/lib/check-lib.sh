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
# MAILLAB_USER2 MAILLAB_PASSWORD2 MAILLAB_SUBNET MAILLAB_MAIL_IP MAILLAB_PARTNER_IP MAILLAB_CHECK_HELO
#
# Rules for checks (so that evidence of the learner's own actions can never come from a check):
#  - every SMTP dialogue of a check says EHLO $CHECK_HELO and MAIL FROM:<$CHECK_FROM>;
#  - checks never log in to IMAP/POP3 as the learner's users;
#  - checks never deliver mail into a local mailbox.
# Checks run after every command the learner types: keep them fast (few processes, short timeouts).

CHECK_HELO=${MAILLAB_CHECK_HELO:-maillab-check.invalid}
CHECK_FROM="maillab-check@${CHECK_HELO}"
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
trap 'rm -f "$CONN_ERR"' EXIT

# conn_open HOST PORT: plain TCP connection.
conn_open() {
  conn_close
  coproc CONN { exec nc -v -w "$NET_TIMEOUT" "$1" "$2" 2>"$CONN_ERR"; }
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

# port_open HOST PORT: does anything accept TCP connections there?
port_open() { timeout "$NET_TIMEOUT" bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

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

# smtp_open [HOST] [PORT]: connects and reads the greeting; succeeds on 220.
smtp_open() {
  conn_open "${1:-$MAIL_HOST}" "${2:-25}"
  smtp_read_reply && [ "$SMTP_CODE" = 220 ]
}

# smtp_open_starttls [HOST] [PORT] [EHLO-NAME]: a TLS session after STARTTLS. Say EHLO again
# afterwards (RFC 3207); the first EHLO reply is not visible.
smtp_open_starttls() { conn_open_starttls smtp "${1:-$MAIL_HOST}" "${2:-25}" "${3:-$CHECK_HELO}"; }

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

# smtp_ehlo_has KEYWORD: the last EHLO reply announces KEYWORD (e.g. STARTTLS, AUTH).
smtp_ehlo_has() { [[ ${SMTP_REPLY^^} =~ (^|$NL)250[-\ ]${1^^}([\ =]|$NL) ]]; }
# smtp_auth_mechs: mechanisms listed after AUTH in the last EHLO reply (upper case, space separated).
smtp_auth_mechs() {
  local r=${SMTP_REPLY^^}
  [[ $r =~ (^|$NL)250[-\ ]AUTH[\ =]([^$NL]*) ]] && printf '%s' "${BASH_REMATCH[2]}"
}

# auth_plain_token USER PASSWORD: base64 of "\0user\0password" (AUTH PLAIN).
auth_plain_token() { printf '\0%s\0%s' "$1" "$2" | base64 -w0; }

# ---- IMAP / POP3 ---------------------------------------------------------------------------------

# imap_cmd TAG "COMMAND": sends "TAG COMMAND", reads up to the tagged reply (IMAP_REPLY); succeeds on OK.
imap_cmd() {
  IMAP_REPLY=""
  conn_send "$1 $2"
  while conn_read_line; do
    IMAP_REPLY+="$LINE$NL"
    if [[ $LINE == "$1 "* ]]; then [[ $LINE == "$1 OK"* ]]; return; fi
  done
  return 1
}
# imap_greeting: reads the untagged greeting; succeeds on "* OK".
imap_greeting() { conn_read_line && IMAP_REPLY="$LINE$NL" && [[ $LINE == "* OK"* ]]; }

# pop3_cmd "COMMAND" [multi]: reads a +OK/-ERR line (POP3_REPLY); with "multi" also lines up to ".".
pop3_cmd() {
  POP3_REPLY=""
  conn_send "$1"
  pop3_read "${2:-}"
}
pop3_read() {
  conn_read_line || return 1
  POP3_REPLY="$LINE$NL"
  [[ $LINE == "+OK"* ]] || return 1
  if [ "${1:-}" = multi ]; then
    while conn_read_line; do
      POP3_REPLY+="$LINE$NL"
      [ "$LINE" = "." ] && return 0
    done
    return 1
  fi
}

# ---- on mail: logs, mailboxes, configuration -----------------------------------------------------

# mail_log: the mail log, oldest first (with the rotated file, when there is one).
mail_log() { cat "$MAIL_LOG.1" "$MAIL_LOG" 2>/dev/null; }

# pc NAME...: postconf values as Postfix uses them (expanded), one per line.
pc() { postconf -xh "$@" 2>/dev/null; }

# postfix_running: is the Postfix master process up?
postfix_running() { postfix status >/dev/null 2>&1; }

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

# mailbox_of USER: the user's mbox (Postfix local(8), Dovecot's INBOX).
mailbox_of() { printf '/var/mail/%s' "$1"; }

# mbox_received_headers FILE...: per message, its topmost Received header (unfolded, one line).
mbox_received_headers() {
  awk '
    /^From / && !inhdr { inhdr = 1; rec = ""; cur = ""; next }
    inhdr && /^$/ { if (cur != "" && rec == "") rec = cur; if (rec != "") print rec; inhdr = 0; next }
    inhdr && /^[ \t]/ { if (cur != "") cur = cur " " $0; next }
    inhdr { if (cur != "" && rec == "") rec = cur; cur = ""; if (tolower($0) ~ /^received:/) cur = $0 }
  ' "$@" 2>/dev/null | tr -s ' \t' '  '
}

# postfix_log_events: Postfix log lines that carry a queue id, as "<program> <queue-id> <rest>".
postfix_log_events() {
  mail_log | sed -nE 's/.*postfix\/(smtpd|qmgr|cleanup|local|virtual|lmtp|smtp|error|bounce)\[[0-9]+\]: ([0-9A-Za-z]{6,}): (.*)$/\1 \2 \3/p'
}

# partner_deliveries [sasl]: mails that came in over SMTP from partner's IP, were not sent by a check
# (sender $CHECK_FROM) and were delivered to the mailbox of user1 or user2. One line each:
#   <queue-id> <sasl-username or -> <local user>
# With "sasl": only mails whose SMTP client had authenticated (SMTP AUTH).
partner_deliveries() {
  postfix_log_events | awk -v ip="[$MAILLAB_PARTNER_IP]" -v checkfrom="from=<$CHECK_FROM>" \
    -v u1="$MAILLAB_USER1" -v u2="$MAILLAB_USER2" -v want_sasl="${1:-}" '
    $1 == "smtpd" && $3 ~ /^client=/ && index($0, ip) {
      client[$2] = 1; s = "-"
      if (match($0, /sasl_username=[^ ,]+/)) s = substr($0, RSTART + 14, RLENGTH - 14)
      sasl[$2] = s
    }
    $1 == "qmgr" && index($0, checkfrom) { bycheck[$2] = 1 }
    $1 == "local" && /status=sent/ && match($0, /to=<[^@>]+/) {
      u = substr($0, RSTART + 4, RLENGTH - 4)
      if (u == u1 || u == u2) { n[$2]++; who[$2, n[$2]] = u }
    }
    END {
      for (q in n) {
        if (!client[q] || bycheck[q]) continue
        if (want_sasl == "sasl" && sasl[q] == "-") continue
        for (i = 1; i <= n[q]; i++) print q, sasl[q], who[q, i]
      }
    }'
}

# partner_smtp_problems: the learner's (not the checks') rejected SMTP commands or lost connections
# from partner, newest last (at most 3).
partner_smtp_problems() {
  mail_log | awk -v ip="[$MAILLAB_PARTNER_IP]" -v helo="helo=<$CHECK_HELO>" '
    index($0, ip) && /postfix\/smtpd/ && /(reject:|warning:|lost connection after)/ && !index($0, helo) {
      sub(/^.*postfix\/smtpd\[[0-9]+\]: /, ""); l[++n] = $0
    }
    END { for (i = (n > 3 ? n - 2 : 1); i <= n; i++) print l[i] }'
}

# in_list WORD "LIST": is WORD (case-insensitive) one of the comma/space separated LIST entries?
in_list() {
  local w
  for w in ${2//,/ }; do [[ ${w,,} == "${1,,}" ]] && return 0; done
  return 1
}

# ---- a one-shot SMTP receiver on partner (to see what mail's Postfix sends out) ------------------
# smtp_sink_start MARKER OUTFILE SECONDS: listens on partner's port 25 and accepts messages for up to
# SECONDS; the first message containing MARKER is written to OUTFILE and the receiver exits 0 (1 on
# timeout). Other messages (e.g. an older check mail Postfix retries) are accepted and dropped.
# Only one receiver at a time: callers hold the lock smtp_sink_lock.
SMTP_SINK_PERL='
use strict; use IO::Socket::INET;
my ($marker, $out, $secs) = @ARGV; my $deadline = time + $secs;
my $srv = IO::Socket::INET->new(LocalPort => 25, Listen => 5, ReuseAddr => 1, Proto => "tcp")
  or do { print STDERR "sink: cannot listen on port 25: $!\n"; exit 2 };
open(my $r, ">", "$out.ready"); close $r;
while (time < $deadline) {
  my $rin = ""; vec($rin, fileno($srv), 1) = 1;
  my $left = $deadline - time; last if $left <= 0;
  next unless select($rin, undef, undef, $left) > 0;
  my $c = $srv->accept or next; $c->autoflush(1);
  my ($data, $indata) = ("", 0);
  print $c "220 partner ESMTP maillab check receiver\r\n";
  eval {
    local $SIG{ALRM} = sub { die "timeout\n" }; alarm(($deadline - time) > 1 ? $deadline - time : 1);
    while (my $l = <$c>) {
      if ($indata) { if ($l =~ /^\.\r?\n$/) { $indata = 0; print $c "250 2.0.0 Ok: received\r\n"; } else { $data .= $l; } next; }
      if ($l =~ /^(EHLO|HELO)/i) { print $c "250 partner\r\n"; }
      elsif ($l =~ /^DATA/i) { $indata = 1; print $c "354 End data with <CR><LF>.<CR><LF>\r\n"; }
      elsif ($l =~ /^QUIT/i) { print $c "221 2.0.0 Bye\r\n"; last; }
      else { print $c "250 2.0.0 Ok\r\n"; }
    }
    alarm 0;
  };
  close $c;
  if (index($data, $marker) >= 0) { open(my $f, ">", $out); print $f $data; close $f; exit 0; }
}
exit 1;
'
smtp_sink_lock() { exec 8>/tmp/maillab-smtp-sink.lock && flock -w "${1:-8}" 8; }
smtp_sink_start() {
  rm -f "$2" "$2.ready"
  perl -e "$SMTP_SINK_PERL" "$1" "$2" "$3" 2>>"$2.err" &
  SINK_PID=$!
  local _
  for _ in $(seq 40); do [ -e "$2.ready" ] && return 0; kill -0 "$SINK_PID" 2>/dev/null || return 1; sleep 0.05; done
  return 1
}
smtp_sink_wait() { wait "$SINK_PID"; }

# dovecot_auth_alive SOCKET [USER]: can USER (default postfix) connect to SOCKET and does Dovecot's
# auth server answer its handshake there? (A socket file can be left over from an older config.)
dovecot_auth_alive() {
  runuser -u "${2:-postfix}" -- perl -MIO::Socket::UNIX -e '
    my $s = IO::Socket::UNIX->new(Peer => $ARGV[0], Type => 1) or exit 2;
    print $s "VERSION\t1\t2\nCPID\t$$\n";
    local $SIG{ALRM} = sub { exit 3 }; alarm 2;
    while (<$s>) { exit 0 if /^DONE/ } exit 4;' "$1" 2>/dev/null
}
