# maillab check dispatcher: the one long-lived process per lab machine that runs check scripts
# (server/docker/check-channel.ts starts it with one `docker exec` and keeps it; a check then costs
# a fork inside the machine instead of an exec through the engine, which is 100-300 ms on a busy host).
#
# stdin, one request after another (all lengths in bytes):
#   LIB <hash> <length>\n<text>                      store a library (the course's check-lib.sh) once
#   JOB <id> <timeout-s> <lib-hash|-> <env-length> <script-length>\n<env><script>
#       env: KEY=VALUE lines; the script runs in the background under `timeout -s KILL`, with the
#       library sourced first, stdin /dev/null, stderr merged into stdout.
# stdout, one frame per finished job, never interleaved (flock):
#   <marker> <id> <exit-code> <start-epoch> <end-epoch> <length>\n<output, at most $CAP bytes>
# The marker (argument 1) is random per channel, so no output can pose as a frame header.
set -u
export LC_ALL=C PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
marker=$1
CAP=1048576
d=$(mktemp -d /run/maillab/checks/run.XXXXXX) || exit 90
trap 'rm -rf "$d"' EXIT
printf '%s READY %s\n' "$marker" "$$"
while IFS=' ' read -r kind id a b c e; do
  case $kind in
    LIB)
      head -c "$a" >"$d/lib-$id.sh"
      continue ;;
    JOB) ;;
    *) continue ;;
  esac
  timeout_s=$a lib=$b envlen=$c scriptlen=$e
  head -c "$envlen" >"$d/$id.env"
  head -c "$scriptlen" >"$d/$id.sh"
  libfile=/dev/null
  [ "$lib" != - ] && libfile="$d/lib-$lib.sh"
  (
    start=$EPOCHREALTIME
    (
      while IFS= read -r kv; do export "$kv"; done <"$d/$id.env"
      # Not --foreground: timeout puts the script in its own process group and kills all of it.
      exec timeout -s KILL "$timeout_s" bash -c '. "$0"; . "$1"' "$libfile" "$d/$id.sh"
    ) </dev/null >"$d/$id.out" 2>&1
    rc=$?
    end=$EPOCHREALTIME
    size=$(stat -c %s "$d/$id.out")
    [ "$size" -gt "$CAP" ] && size=$CAP
    {
      flock 9
      printf '%s %s %s %s %s %s\n' "$marker" "$id" "$rc" "$start" "$end" "$size"
      head -c "$size" "$d/$id.out"
    } 9>"$d/lock"
    rm -f "$d/$id.env" "$d/$id.sh" "$d/$id.out"
  ) 2>/dev/null &  # (bash would report a job killed at its timeout as "Killed" on stderr)
done
wait
