# Hooks of the "partner" machine for maillab-init (sourced). The partner is a
# client only: it runs no daemons, so there is nothing to start or stop.
# shellcheck shell=bash

machine_boot() {
  return 0
}

machine_stop() {
  return 0
}
