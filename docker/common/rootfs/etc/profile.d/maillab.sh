# maillab: prompt mark for the web terminal, and which machine this is.
# shellcheck shell=sh
if [ -n "${BASH_VERSION-}" ]; then
  . /usr/local/lib/maillab/prompt.sh
  # `docker exec … bash -l` bypasses login(1), which would show /etc/motd.
  case $- in *i*)
    if [ "${SHLVL:-1}" -le 1 ] && [ -r /etc/motd ] && [ -z "${MAILLAB_MOTD_SHOWN-}" ]; then
      cat /etc/motd
      export MAILLAB_MOTD_SHOWN=1
    fi ;;
  esac
fi
