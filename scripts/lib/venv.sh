# shellcheck shell=bash
# ensure_venv EXTRAS: make ./.venv if missing and `pip install -e .[EXTRAS]` into it,
# but only when pyproject.toml changed since the last install (a stamp file per extras
# set keeps repeated runs instant). Run from the repository root.
ensure_venv() {
  local extras=$1 spec=. stamp
  [ -n "$extras" ] && spec=".[$extras]"
  stamp=.venv/.orch-installed${extras:+-$extras}
  if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv" >&2
    python3 -m venv .venv
  fi
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "==> pip install -e '$spec'" >&2
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$spec" >&2
    touch "$stamp"
  fi
}
