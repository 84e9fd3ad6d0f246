# shellcheck shell=bash
# A Docker engine for the tests: use the one that answers, else start dockerd here.
#
#   docker_engine_up LOGDIR   -> 0 when `docker info` answers (sets DOCKERD_PID when
#                                this shell started dockerd), 1 otherwise
#   docker_engine_down        -> stops dockerd only if docker_engine_up started it
#
# Packages are installed by apt_install_missing (scripts/lib/apt.sh) beforehand.

DOCKERD_PID=""
DOCKER_WAIT_S=${ORCH_TEST_DOCKER_WAIT_S:-60}

docker_answers() { timeout 10 docker info >/dev/null 2>&1; }

# cgroups must be mounted for dockerd; a bare VM may boot without them
# (the packaged init script mounts them the same way).
_mount_cgroups() {
  mountpoint -q /sys/fs/cgroup 2>/dev/null && return 0
  if command -v cgroupfs-mount >/dev/null 2>&1; then
    cgroupfs-mount || true
  else
    mount -t cgroup2 none /sys/fs/cgroup 2>/dev/null || true
  fi
}

# Start dockerd with EXTRA flags, wait for it; 0 when it answers.
_start_dockerd() {
  local log=$1; shift
  # A pid file left by a dockerd that died makes the next one refuse to start.
  if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
    rm -f /var/run/docker.pid
  fi
  echo "==> starting dockerd $* (log: $log)" >&2
  dockerd "$@" >>"$log" 2>&1 &
  DOCKERD_PID=$!
  local waited=0
  while [ "$waited" -lt "$DOCKER_WAIT_S" ]; do
    docker_answers && return 0
    if ! kill -0 "$DOCKERD_PID" 2>/dev/null; then
      wait "$DOCKERD_PID" 2>/dev/null || true
      DOCKERD_PID=""
      return 1
    fi
    sleep 1; waited=$((waited + 1))
  done
  return 1
}

docker_engine_up() {
  local logdir=$1 log
  docker_answers && return 0
  if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
    echo "!! no Docker engine answers and dockerd/docker are not installed" >&2
    return 1
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "!! no Docker engine answers and starting dockerd needs root" >&2
    return 1
  fi
  # A dockerd another hand started (a package postinst, a service) may still be coming up.
  if pgrep -x dockerd >/dev/null 2>&1; then
    local waited=0
    while [ "$waited" -lt "$DOCKER_WAIT_S" ]; do
      docker_answers && return 0
      sleep 1; waited=$((waited + 1))
    done
    echo "!! a dockerd is running but does not answer" >&2
    return 1
  fi
  _mount_cgroups
  log=$logdir/dockerd.log
  _start_dockerd "$log" && return 0
  # iptables stays on by default (container networking needs it); only a kernel or
  # sandbox without netfilter gets the fallback.
  if [ -z "$DOCKERD_PID" ] && grep -qi iptables "$log"; then
    echo "==> dockerd failed on iptables; retrying with --iptables=false" >&2
    _start_dockerd "$log" --iptables=false --ip-masq=false && return 0
  fi
  echo "!! dockerd did not answer within ${DOCKER_WAIT_S}s; last lines of $log:" >&2
  tail -n 20 "$log" >&2 || true
  docker_engine_down
  return 1
}

docker_engine_down() {
  [ -n "$DOCKERD_PID" ] || return 0
  echo "==> stopping the dockerd this script started (pid $DOCKERD_PID)" >&2
  kill -TERM "$DOCKERD_PID" 2>/dev/null || true
  local waited=0
  while kill -0 "$DOCKERD_PID" 2>/dev/null && [ "$waited" -lt 30 ]; do
    sleep 1; waited=$((waited + 1))
  done
  kill -KILL "$DOCKERD_PID" 2>/dev/null || true
  wait "$DOCKERD_PID" 2>/dev/null || true
  DOCKERD_PID=""
}
