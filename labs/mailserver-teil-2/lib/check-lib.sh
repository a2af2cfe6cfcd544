#!/bin/bash
# maillab check library: prepended to every check and solve script of this course (see docs/authoring.md).
#
# Output protocol read by the check runner:
#   exit 0 = pass. `pass`/`fail` print the message in both languages and exit.
#   HINT[de]: / HINT[en]: lines are shown to the learner when the check fails.
#   Everything else printed (the SMTP/IMAP dialogue, notes) is the check's transcript.
#
# Environment (set by the runner): MAILLAB_DOMAIN MAILLAB_MAIL_HOST MAILLAB_USER1 MAILLAB_PASSWORD1
# MAILLAB_USER2 MAILLAB_PASSWORD2 MAILLAB_SUBNET MAILLAB_MAIL_IP MAILLAB_PARTNER_IP MAILLAB_CHECK_HELO
#
# Rule: checks identify their own SMTP traffic with HELO $CHECK_HELO and sender $CHECK_FROM, never
# log in to IMAP/POP3 as the learner's users, and never deliver mail into a learner's mailbox.
# Evidence of the learner's own actions (mails, logins) therefore can't come from a check.

CHECK_HELO=${MAILLAB_CHECK_HELO:-maillab-check.invalid}
CHECK_FROM="maillab-check@${CHECK_HELO}"
MAIL_HOST=${MAILLAB_MAIL_HOST:-mail}
MAIL_LOG=${MAIL_LOG:-/var/log/mail.log}
# Connection and reply timeouts (seconds) of the dialogue helpers: checks must stay fast.
NET_TIMEOUT=${NET_TIMEOUT:-3}

# ---- results -------------------------------------------------------------------------------------

# hint "<deutsch>" "<english>": shown to the learner when the check fails.
hint() { printf 'HINT[de]: %s\nHINT[en]: %s\n' "$1" "${2:-$1}"; }
# pass "<deutsch>" "<english>": prints the message and exits 0.
pass() { printf 'PASS[de]: %s\nPASS[en]: %s\n' "$1" "${2:-$1}"; exit 0; }
# fail "<deutsch>" "<english>": prints the message and exits 1.
fail() { printf 'FAIL[de]: %s\nFAIL[en]: %s\n' "$1" "${2:-$1}"; exit 1; }
# note "text": a line in the transcript (not shown as a hint).
note() { printf '# %s\n' "$*"; }

# ---- line-based network dialogues (SMTP, IMAP, POP3) ---------------------------------------------
# One connection at a time, as a coprocess. Plain TCP via nc, or TLS via openssl s_client with
# STARTTLS done by openssl (conn_open_starttls). The transcript is printed as `S: ` / `C: ` lines.

CONN_PID=""
CONN_ERR=$(mktemp /tmp/maillab-conn.XXXXXX)
# shellcheck disable=SC2064
trap "rm -f '$CONN_ERR'" EXIT

# conn_open HOST PORT: plain TCP connection. Fails when the port doesn't accept connections.
conn_open() {
  conn_close
  coproc CONN { exec nc -v -w "$NET_TIMEOUT" "$1" "$2" 2>"$CONN_ERR"; }
  CONN_PID=$CONN_PID
  note "connect to $1:$2"
}

# conn_open_starttls PROTO HOST PORT [EHLO-NAME]: PROTO is smtp, imap or pop3; openssl does the
# plain part and STARTTLS, then we talk inside TLS. For smtp the EHLO name is openssl's -name.
conn_open_starttls() {
  conn_close
  local proto=$1 host=$2 port=$3 name=${4:-$CHECK_HELO}
  local extra=()
  [ "$proto" = smtp ] && extra=(-name "$name")
  coproc CONN { exec timeout 20 openssl s_client -quiet -verify_quiet -starttls "$proto" "${extra[@]}" -connect "$host:$port" 2>"$CONN_ERR"; }
  CONN_PID=$CONN_PID
  note "connect to $host:$port, STARTTLS ($proto)"
}

conn_close() {
  if [ -n "$CONN_PID" ]; then
    { exec {CONN[1]}>&-; } 2>/dev/null
    kill "$CONN_PID" 2>/dev/null
    wait "$CONN_PID" 2>/dev/null
    CONN_PID=""
  fi
}

# conn_send "LINE": sends LINE with CRLF. Use conn_send_secret to keep a password out of the transcript.
conn_send() {
  printf 'C: %s\n' "$1"
  [ -n "$CONN_PID" ] && printf '%s\r\n' "$1" >&"${CONN[1]}" 2>/dev/null
}
conn_send_secret() {
  printf 'C: %s\n' "${2:-<secret>}"
  [ -n "$CONN_PID" ] && printf '%s\r\n' "$1" >&"${CONN[1]}" 2>/dev/null
}

# conn_read_line: one line into LINE (CR stripped); fails on timeout or closed connection.
conn_read_line() {
  LINE=""
  [ -n "$CONN_PID" ] || return 1
  if IFS= read -r -t "$NET_TIMEOUT" LINE <&"${CONN[0]}" 2>/dev/null; then
    LINE=${LINE%$'\r'}
    printf 'S: %s\n' "$LINE"
    return 0
  fi
  return 1
}

# conn_error: why the connection failed (nc/openssl stderr), for messages.
conn_error() { tr '\n' ' ' <"$CONN_ERR" | sed 's/ *$//'; }

# ---- SMTP ----------------------------------------------------------------------------------------
# After each call: SMTP_CODE (e.g. 250, "" when the server didn't answer) and SMTP_REPLY (all lines).

smtp_read_reply() {
  SMTP_CODE="" SMTP_REPLY=""
  while conn_read_line; do
    SMTP_REPLY+="$LINE"$'\n'
    if [[ $LINE =~ ^([0-9]{3})(\ |$) ]]; then SMTP_CODE=${BASH_REMATCH[1]}; return 0; fi
    [[ $LINE =~ ^[0-9]{3}- ]] || { SMTP_CODE=""; return 1; }
  done
  return 1
}

# smtp_open [HOST] [PORT]: connects and reads the banner; succeeds on 220.
smtp_open() {
  conn_open "${1:-$MAIL_HOST}" "${2:-25}"
  smtp_read_reply && [ "$SMTP_CODE" = 220 ]
}

# smtp_open_starttls [HOST] [PORT] [EHLO-NAME]: TLS session after STARTTLS (openssl sent EHLO+STARTTLS).
# Send EHLO again afterwards, as RFC 3207 requires.
smtp_open_starttls() {
  conn_open_starttls smtp "${1:-$MAIL_HOST}" "${2:-25}" "${3:-$CHECK_HELO}"
}

# smtp "COMMAND": sends a command and reads the reply; returns 0 when the reply is 2xx or 3xx.
smtp() {
  conn_send "$1"
  smtp_read_reply || return 1
  [[ $SMTP_CODE =~ ^[23] ]]
}

smtp_quit() { conn_send "QUIT"; smtp_read_reply; conn_close; }

# smtp_ehlo_has KEYWORD: whether the last EHLO reply announces KEYWORD (e.g. STARTTLS, AUTH).
smtp_ehlo_has() { grep -qiE "^250[- ]$1( |$)" <<<"$SMTP_REPLY"; }
# smtp_auth_mechs: the mechanisms after AUTH in the last EHLO reply, upper case, one line.
smtp_auth_mechs() { grep -iE '^250[- ]AUTH[ =]' <<<"$SMTP_REPLY" | head -n1 | cut -c9- | tr 'a-z' 'A-Z'; }

# auth_plain_token USER PASSWORD: base64 of "\0user\0password".
auth_plain_token() { printf '\0%s\0%s' "$1" "$2" | base64 -w0; }

# port_open HOST PORT: does anything accept TCP connections there (quietly, no dialogue)?
port_open() { timeout "$NET_TIMEOUT" bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

# ---- IMAP / POP3 ---------------------------------------------------------------------------------

# imap_cmd TAG "COMMAND": sends "TAG COMMAND", reads up to the tagged reply; IMAP_REPLY has all lines.
imap_cmd() {
  IMAP_REPLY=""
  conn_send "$1 $2"
  while conn_read_line; do
    IMAP_REPLY+="$LINE"$'\n'
    [[ $LINE == "$1 "* ]] && { [[ $LINE == "$1 OK"* ]]; return; }
  done
  return 1
}

# pop3_cmd "COMMAND" [multi]: single-line reply (+OK/-ERR); with "multi", also the lines up to ".".
pop3_cmd() {
  POP3_REPLY=""
  conn_send "$1"
  conn_read_line || return 1
  POP3_REPLY="$LINE"$'\n'
  [[ $LINE == "+OK"* ]] || return 1
  if [ "${2:-}" = multi ]; then
    while conn_read_line; do
      POP3_REPLY+="$LINE"$'\n'
      [ "$LINE" = "." ] && return 0
    done
    return 1
  fi
}

# ---- mail machine: logs, mailboxes, config (for evidence checks and explanations) -----------------

# mail_log: the mail log, oldest first (rotated file included when it exists).
mail_log() {
  { [ -r "$MAIL_LOG.1" ] && cat "$MAIL_LOG.1"; [ -r "$MAIL_LOG" ] && cat "$MAIL_LOG"; } 2>/dev/null
}

# pc NAME: postconf value (expanded as Postfix uses it), "" if postconf fails.
pc() { postconf -xh "$1" 2>/dev/null; }

# listening_on PORT: local addresses with a TCP listener on PORT (from /proc, no ss/netstat needed).
listening_on() {
  local hexport
  hexport=$(printf '%04X' "$1")
  awk -v p="$hexport" 'NR > 1 { split($2, a, ":"); if (a[2] == p && $4 == "0A") print a[1] }' /proc/net/tcp /proc/net/tcp6 2>/dev/null |
    while read -r hex; do
      if [ ${#hex} -eq 8 ]; then
        printf '%d.%d.%d.%d\n' "0x${hex:6:2}" "0x${hex:4:2}" "0x${hex:2:2}" "0x${hex:0:2}"
      else
        case $hex in
          00000000000000000000000000000000) echo "::" ;;
          00000000000000000000000001000000) echo "::1" ;;
          *) echo "ipv6:$hex" ;;
        esac
      fi
    done | sort -u
}

# ip_in_cidr IP CIDR: is the IPv4 address inside the network (IPv6 / non-CIDR entries: no)?
ip_to_int() { local IFS=.; set -- $1; echo $(( ($1 << 24) + ($2 << 16) + ($3 << 8) + $4 )); }
ip_in_cidr() {
  local ip=$1 net=${2%/*} bits=${2#*/}
  [[ $ip =~ ^[0-9]+(\.[0-9]+){3}$ && $net =~ ^[0-9]+(\.[0-9]+){3}$ ]] || return 1
  [ "$bits" = "$2" ] && bits=32
  [[ $bits =~ ^[0-9]+$ ]] || return 1
  local mask=$(( bits == 0 ? 0 : (0xFFFFFFFF << (32 - bits)) & 0xFFFFFFFF ))
  (( ($(ip_to_int "$ip") & mask) == ($(ip_to_int "$net") & mask) ))
}

# mbox_received_headers FILE: one line per message: the message's topmost Received header, unfolded.
mbox_received_headers() {
  [ -r "$1" ] || return 0
  awk '
    /^From / && !inhdr { inhdr = 1; rec = ""; cur = ""; next }
    inhdr && /^$/ { if (cur != "" && rec == "") rec = cur; if (rec != "") print rec; inhdr = 0; next }
    inhdr && /^[ \t]/ { if (cur != "") cur = cur " " $0; next }
    inhdr {
      if (cur != "" && rec == "") rec = cur
      cur = ""
      if (tolower($0) ~ /^received:/) cur = $0
    }
  ' "$1" | tr -s ' \t' ' '
}

# mailbox_of USER: path of the user's mbox.
mailbox_of() { echo "/var/mail/$1"; }

# postfix_running: is the Postfix master process up?
postfix_running() { postfix status >/dev/null 2>&1; }
