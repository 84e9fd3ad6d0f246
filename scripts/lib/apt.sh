# shellcheck shell=bash
# ensure_system_packages: install, on a fresh Debian machine, what the tests need from
# the system and is missing: python3 with venv, a Docker engine (docker.io),
# busybox-static (the test image's rootfs) and iproute2. One apt-get run, only as root
# and only where apt-get exists; elsewhere it just says what is missing.

_pkg_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

ensure_system_packages() {
  local want=()
  command -v python3 >/dev/null 2>&1 || want+=(python3)
  python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || want+=(python3-venv)
  if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
    # An engine that already answers (Docker Desktop, a remote DOCKER_HOST) is enough.
    timeout 10 docker info >/dev/null 2>&1 || want+=(docker.io)
  fi
  if command -v dpkg-query >/dev/null 2>&1; then
    _pkg_installed busybox-static || want+=(busybox-static)
  fi
  command -v ip >/dev/null 2>&1 || want+=(iproute2)
  [ ${#want[@]} -eq 0 ] && return 0

  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "!! missing system packages (install them, or run as root on Debian): ${want[*]}" >&2
    return 0
  fi
  echo "==> apt-get install ${want[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
  apt-get update -qq
  apt-get install -y -qq "${want[@]}" >/dev/null
}
