#!/usr/bin/env bash
# A Docker Swarm of several nodes on this one machine, for developing and testing maillab's Swarm
# runtime (MAILLAB_RUNTIME=swarm, docs/operations.md "A Swarm on one machine").
#
#   bash scripts/dev-swarm.sh up       start it (idempotent) and print the `export MAILLAB_…` lines
#   bash scripts/dev-swarm.sh down     stop it and remove everything it made
#   bash scripts/dev-swarm.sh status   the nodes as the Swarm sees them
#   bash scripts/dev-swarm.sh env      print the export lines again (exit 1 when it is not up)
#   bash scripts/dev-swarm.sh kill-node NAME | start-node NAME   a node's engine dies / comes back (tests)
#
# Every node is an extra dockerd (manager, worker1, worker2) in its own network namespace (and UTS
# namespace, so the Swarm shows its own hostname) with its own data root, exec root, pidfile,
# sockets and containerd, on a host bridge. The host's own Docker engine is NOT part of the Swarm:
# it keeps serving everyone else unchanged, and `down` leaves no trace on it. Why no dockerd runs in
# the host's network namespace: a second dockerd there manages docker0 and the host's iptables too
# (with --bridge=none it even deletes docker0).
#
# What `up` does, in order (each step skipped when already done):
#  1. a CA, a client certificate (the app's), a server certificate per node and one for the registry;
#  2. the bridge mlsw0 with the nodes' veths, and a DOCKER-USER rule letting the nodes talk through it;
#  3. the engines, each listening on its unix socket (this script) and on tcp://<node>:2376 with TLS
#     that accepts only client certificates from the CA (the app, docs/operations.md "TLS");
#  4. `swarm init` on the manager, `swarm join` of the workers; node labels: maillab.lab=true on the
#     workers (where environments run), maillab.registry=true on the manager;
#  5. the registry as a Swarm service on the manager (Debian's docker-registry in maillab/swarm-tools,
#     loaded into the manager once with docker save | docker load: the registry cannot come from
#     itself), TLS with client certificates; every engine here trusts it through
#     /etc/docker/certs.d/<registry>/ (CA and client certificate);
#  6. the lab images and the tools image pushed from the host's engine to the registry
#     (scripts/swarm-images.ts, the app's own code path), then pulled on the lab nodes ahead of time.
#
# Resource use (2-core machine): three engines idle at ~1.2 % of a core and ~250 MiB (PSS) together;
# ~2.3 GB under /var/lib/maillab-swarm (the registry and two workers' images) until `down`.
set -euo pipefail
cd "$(dirname "$0")/.."

NET=${MAILLAB_DEV_SWARM_NET:-10.211.0}        # the nodes' /24: .1 the host, .2 manager, .3… workers
WORKERS=${MAILLAB_DEV_SWARM_WORKERS:-2}
POOL=${MAILLAB_DEV_SWARM_POOL:-10.214.0.0/16}  # the environments' overlay subnets (not the host engine's 10.213/16)
BRIDGE=mlsw0
RUN=/run/maillab-swarm
DATA=/var/lib/maillab-swarm
TLS=$DATA/tls
API_PORT=2376
REGISTRY_PORT=5000
MANAGER_IP=$NET.2
REGISTRY=$MANAGER_IP:$REGISTRY_PORT
CERTS_D=/etc/docker/certs.d/$REGISTRY

say() { printf '[dev-swarm] %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

nodes() {
  echo manager
  local i
  for ((i = 1; i <= WORKERS; i++)); do echo "worker$i"; done
}
node_ip() {
  case $1 in
    manager) echo "$NET.2" ;;
    worker*) echo "$NET.$((2 + ${1#worker}))" ;;
    *) die "no node $1" ;;
  esac
}
netns() { echo "mlsw-$1"; }
sock() { echo "$RUN/$1/docker.sock"; }
dk() { local node=$1; shift; docker -H "unix://$(sock "$node")" "$@"; }
node_pid() { cat "$RUN/$1/dockerd.pid" 2>/dev/null || true; }
alive() { local pid; pid=$(node_pid "$1"); [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }

preflight() {
  [ "$(id -u)" = 0 ] || die "run as root (it starts engines and changes the network)"
  [[ $WORKERS =~ ^[1-2]$ ]] || die "MAILLAB_DEV_SWARM_WORKERS must be 1 or 2 (a 2-core machine)"
  local missing=()
  command -v ip >/dev/null || missing+=(iproute2)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v unshare >/dev/null || missing+=(util-linux)
  command -v curl >/dev/null || missing+=(curl)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]} ..."
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2 \
      || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2; }
  fi
  command -v dockerd >/dev/null || die "dockerd is missing: bash scripts/ensure-docker.sh installs Debian's docker.io"
  docker info >/dev/null 2>&1 || die "the host's Docker engine does not answer (bash scripts/ensure-docker.sh)"
}

# ---------------------------------------------------------------------------------------- TLS

sign() { # sign NAME SUBJECT EXTENSIONS: $TLS/NAME-key.pem + NAME-cert.pem signed by the CA
  local name=$1 subject=$2 ext=$3
  [ -f "$TLS/$name-cert.pem" ] && return 0
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$TLS/$name-key.pem" 2>/dev/null
  openssl req -new -key "$TLS/$name-key.pem" -subj "$subject" -out "$TLS/$name.csr" 2>/dev/null
  openssl x509 -req -in "$TLS/$name.csr" -CA "$TLS/ca.pem" -CAkey "$TLS/ca-key.pem" -CAcreateserial \
    -days 825 -sha256 -extfile <(printf '%s\n' "$ext") -out "$TLS/$name-cert.pem" 2>/dev/null
  rm -f "$TLS/$name.csr"
}

make_certs() {
  mkdir -p "$TLS"
  chmod 700 "$TLS"
  if [ ! -f "$TLS/ca.pem" ]; then
    say "making a CA and certificates ($TLS) ..."
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$TLS/ca-key.pem" 2>/dev/null
    openssl req -x509 -new -key "$TLS/ca-key.pem" -sha256 -days 825 -subj "/CN=maillab dev swarm CA" -out "$TLS/ca.pem" 2>/dev/null
  fi
  local node
  for node in $(nodes); do
    sign "$node" "/CN=mlsw-$node" "subjectAltName=IP:$(node_ip "$node"),DNS:mlsw-$node
extendedKeyUsage=serverAuth"
  done
  sign registry "/CN=maillab-registry" "subjectAltName=IP:$MANAGER_IP,DNS:maillab-registry
extendedKeyUsage=serverAuth"
  sign client "/CN=maillab" "extendedKeyUsage=clientAuth"
  # DOCKER_CERT_PATH layout (ca.pem, cert.pem, key.pem): what MAILLAB_SWARM_TLS_DIR points at.
  mkdir -p "$TLS/client"
  cp "$TLS/ca.pem" "$TLS/client/ca.pem"
  cp "$TLS/client-cert.pem" "$TLS/client/cert.pem"
  cp "$TLS/client-key.pem" "$TLS/client/key.pem"
  # Every engine on this host (the host's and the nodes') reads /etc/docker/certs.d: the registry's
  # CA, and the client certificate it asks for.
  mkdir -p "$CERTS_D"
  cp "$TLS/ca.pem" "$CERTS_D/ca.crt"
  cp "$TLS/client-cert.pem" "$CERTS_D/client.cert"
  cp "$TLS/client-key.pem" "$CERTS_D/client.key"
}

# ---------------------------------------------------------------------------------------- network

net_up() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    say "bridge $BRIDGE ($NET.1/24) ..."
    ip link add "$BRIDGE" type bridge
    ip addr add "$NET.1/24" dev "$BRIDGE"
  fi
  ip link set "$BRIDGE" up
  # Docker's FORWARD policy is DROP and bridged frames pass iptables (br_netfilter): let the nodes
  # (their API, the Swarm's gossip and VXLAN) talk to each other across the bridge.
  local chain=DOCKER-USER
  iptables -S DOCKER-USER >/dev/null 2>&1 || chain=FORWARD
  iptables -C "$chain" -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT 2>/dev/null || iptables -I "$chain" 1 -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT
  local node ns ip
  for node in $(nodes); do
    ns=$(netns "$node")
    ip=$(node_ip "$node")
    ip netns list | grep -qw "^$ns" && continue
    ip netns add "$ns"
    ip link add "$ns" type veth peer name eth0 netns "$ns"
    ip link set "$ns" master "$BRIDGE" up
    ip -n "$ns" addr add "$ip/24" dev eth0
    ip -n "$ns" link set lo up
    ip -n "$ns" link set eth0 up
    ip -n "$ns" route add default via "$NET.1"
  done
}

net_down() {
  local node ns chain
  for node in manager worker1 worker2; do
    ns=$(netns "$node")
    ip link del "$ns" 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
  ip link del "$BRIDGE" 2>/dev/null || true
  for chain in DOCKER-USER FORWARD; do
    while iptables -D "$chain" -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT 2>/dev/null; do :; done
  done
}

# ---------------------------------------------------------------------------------------- engines

# Shell commands that mount the host's cgroup hierarchies (v1, v2 or both) again, from its mountinfo.
cgroup_mounts() {
  awk '$5 ~ "^/sys/fs/cgroup" {
    for (i = 7; $i != "-"; i++) ;
    type = $(i + 1); opts = $(i + 3)
    if (type == "tmpfs") printf "mount -t tmpfs -o mode=755 cgroup %s\n", $5
    else if (type == "cgroup" || type == "cgroup2") printf "mkdir -p %s && mount -t %s -o %s %s %s\n", $5, type, opts, type, $5
  }' /proc/self/mountinfo
}

start_node() {
  local node=$1 ip
  ip=$(node_ip "$node")
  alive "$node" && return 0
  mkdir -p "$RUN/$node" "$DATA/$node"
  echo '{}' >"$RUN/$node/daemon.json" # not the host's /etc/docker/daemon.json
  say "starting the $node engine ($ip, data $DATA/$node) ..."
  local args=(
    --config-file "$RUN/$node/daemon.json"
    --data-root "$DATA/$node/docker"
    --exec-root "$RUN/$node/exec"
    --pidfile "$RUN/$node/dockerd.pid"
    -H "unix://$(sock "$node")"
    -H "tcp://$ip:$API_PORT"
    --tlsverify --tlscacert "$TLS/ca.pem" --tlscert "$TLS/$node-cert.pem" --tlskey "$TLS/$node-key.pem"
    --storage-driver overlay2
    # Its containers' cgroups apart from the host engine's: per-node memory and CPU can be read there.
    --cgroup-parent "/maillab-swarm-$node"
    --log-level warn
  )
  # Network namespace (its own interfaces, iptables, docker0) and UTS namespace (its own hostname).
  # `ip netns exec` mounts a fresh /sys in a mount namespace of its own (so /sys/class/net shows the
  # node's interfaces), which hides the cgroup hierarchies: mount them again there, as the host has them.
  cgroup_mounts >"$RUN/cgroup-mounts.sh"
  local boot='. "$1" && hostname "$0" && shift && exec dockerd "$@"'
  setsid ip netns exec "$(netns "$node")" unshare --uts sh -c "$boot" "mlsw-$node" "$RUN/cgroup-mounts.sh" "${args[@]}" \
    >"$DATA/$node/dockerd.log" 2>&1 </dev/null &
  local _
  for _ in $(seq 1 120); do
    dk "$node" version >/dev/null 2>&1 && return 0
    sleep 0.25
  done
  tail -n 20 "$DATA/$node/dockerd.log" >&2 || true
  die "the $node engine did not answer within 30 s (log: $DATA/$node/dockerd.log)"
}

stop_node() {
  local node=$1 pid _
  pid=$(node_pid "$node")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    # Containers are killed, not stopped: this is a teardown (or a node that dies, kill-node).
    dk "$node" ps -q 2>/dev/null | xargs -r docker -H "unix://$(sock "$node")" kill >/dev/null 2>&1 || true
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  # Its containerd and shims, found by the socket they name (only this node's: never by name alone).
  local address="$RUN/$node/exec/containerd/containerd.sock" p
  for p in $(ps -eo pid=,args= | awk -v a="$address" 'index($0, a) { print $1 }'); do
    kill -9 "$p" 2>/dev/null || true
  done
  rm -f "$RUN/$node/dockerd.pid"
}

# ---------------------------------------------------------------------------------------- Swarm

swarm_state() { dk "$1" info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || echo unknown; }

swarm_up() {
  if [ "$(swarm_state manager)" != active ]; then
    say "swarm init on the manager ..."
    # The Swarm's own default pool apart from the nodes' /24 and the environments' pool.
    dk manager swarm init --advertise-addr "$MANAGER_IP" --listen-addr "$MANAGER_IP:2377" \
      --default-addr-pool 10.212.0.0/16 --default-addr-pool-mask-length 24 >/dev/null
  fi
  local token node
  token=$(dk manager swarm join-token -q worker)
  for node in $(nodes); do
    [ "$node" = manager ] && continue
    [ "$(swarm_state "$node")" = active ] && continue
    say "swarm join: $node ..."
    dk "$node" swarm join --token "$token" --advertise-addr "$(node_ip "$node")" "$MANAGER_IP:2377" >/dev/null
  done
  local id host
  while read -r id host; do
    case $host in
      mlsw-manager) dk manager node update --label-add maillab.registry=true "$id" >/dev/null ;;
      mlsw-worker*) dk manager node update --label-add maillab.lab=true "$id" >/dev/null ;;
    esac
  done < <(dk manager node ls --format '{{.ID}} {{.Hostname}}')
}

# ---------------------------------------------------------------------------------------- registry

registry_answers() {
  curl -fsS --max-time 3 --cacert "$TLS/ca.pem" --cert "$TLS/client-cert.pem" --key "$TLS/client-key.pem" \
    "https://$REGISTRY/v2/" >/dev/null 2>&1
}

registry_up() {
  local tools
  tools=$(npx tsx scripts/swarm-images.ts tools)
  if ! dk manager image inspect "$tools" >/dev/null 2>&1; then
    say "loading $tools into the manager (the registry's own image cannot come from the registry) ..."
    docker save "$tools" | dk manager load -q >/dev/null
  fi
  local name
  for name in registry-cert:registry-cert.pem registry-key:registry-key.pem ca:ca.pem; do
    dk manager secret inspect "maillab-${name%%:*}" >/dev/null 2>&1 || dk manager secret create "maillab-${name%%:*}" "$TLS/${name#*:}" >/dev/null
  done
  if ! dk manager service inspect maillab-registry >/dev/null 2>&1; then
    say "registry service on the manager ($REGISTRY) ..."
    # Host-mode publishing: no routing mesh (IPVS) needed, the registry is where its volume is.
    dk manager service create -d --no-resolve-image --name maillab-registry \
      --constraint node.labels.maillab.registry==true \
      --publish mode=host,published=$REGISTRY_PORT,target=5000 \
      --mount type=volume,source=maillab-registry,target=/var/lib/docker-registry \
      --secret source=maillab-registry-cert,target=registry-cert.pem,mode=0444 \
      --secret source=maillab-registry-key,target=registry-key.pem,mode=0444 \
      --secret source=maillab-ca,target=ca.pem,mode=0444 \
      -e REGISTRY_HTTP_TLS_CERTIFICATE=/run/secrets/registry-cert.pem \
      -e REGISTRY_HTTP_TLS_KEY=/run/secrets/registry-key.pem \
      -e REGISTRY_HTTP_TLS_CLIENTCAS_0=/run/secrets/ca.pem \
      --limit-memory 256m --restart-condition any \
      --label maillab.registry=1 \
      "$tools" >/dev/null
  fi
  local _
  for _ in $(seq 1 120); do
    registry_answers && return 0
    sleep 0.5
  done
  dk manager service ps --no-trunc maillab-registry >&2 || true
  die "the registry does not answer at https://$REGISTRY/v2/"
}

push_images() {
  say "pushing the images to $REGISTRY ..."
  npx tsx scripts/swarm-images.ts push "$REGISTRY" >&2
  # Pulled ahead of time on the lab nodes, so the first environment there need not wait for them.
  local refs node ref
  refs=$(npx tsx scripts/swarm-images.ts refs "$REGISTRY")
  for node in $(nodes); do
    [ "$node" = manager ] && continue
    for ref in $refs; do
      dk "$node" image inspect "$ref" >/dev/null 2>&1 || { say "pulling $ref on $node ..."; dk "$node" pull -q "$ref" >/dev/null; }
    done
  done
}

print_env() {
  cat <<EOF
export MAILLAB_RUNTIME=swarm
export MAILLAB_SWARM_MANAGER=tcp://$MANAGER_IP:$API_PORT
export MAILLAB_SWARM_TLS_DIR=$TLS/client
export MAILLAB_REGISTRY=$REGISTRY
export MAILLAB_SUBNET_POOL=$POOL
EOF
}

# ---------------------------------------------------------------------------------------- commands

up() {
  preflight
  mkdir -p "$RUN" "$DATA"
  exec 8>"$RUN.lock"
  flock 8
  make_certs
  net_up
  local node
  for node in $(nodes); do start_node "$node"; done
  swarm_up
  registry_up
  push_images
  flock -u 8
  say "up: $(dk manager node ls --format '{{.Hostname}} ({{.Status}}, {{.Availability}})' | paste -sd ' ' -)"
  print_env
}

down() {
  [ "$(id -u)" = 0 ] || die "run as root"
  local node
  for node in worker2 worker1 manager; do
    [ -d "$RUN/$node" ] || continue
    say "stopping $node ..."
    stop_node "$node"
  done
  net_down
  local cg
  for cg in /sys/fs/cgroup/*/maillab-swarm-*; do
    [ -d "$cg" ] && find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
  rm -rf "$CERTS_D" "$RUN" "$RUN.lock"
  rmdir /etc/docker/certs.d 2>/dev/null || true 
  rm -rf "$DATA"
  # The tags the push made in the host's engine (the images themselves stay: they are the lab's).
  docker images --format '{{.Repository}}:{{.Tag}}' | grep "^$REGISTRY/" | xargs -r docker rmi >/dev/null 2>&1 || true
  say "down"
}

status() {
  alive manager || die "not up"
  dk manager node ls
  dk manager service ls --filter label=maillab.registry=1
}

case ${1:-} in
  up) up ;;
  down) down ;;
  status) status ;;
  env)
    alive manager || die "not up"
    print_env
    ;;
  kill-node)
    [ -n "${2:-}" ] && [ "$2" != manager ] || die "usage: dev-swarm.sh kill-node worker1|worker2"
    stop_node "$2"
    ;;
  start-node)
    [ -n "${2:-}" ] || die "usage: dev-swarm.sh start-node NAME"
    start_node "$2"
    ;;
  *)
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
