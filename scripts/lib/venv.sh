# shellcheck shell=bash
# ensure_venv [EXTRAS]: make ./.venv if missing and `pip install -e .[EXTRAS]` into it,
# only when pyproject.toml changed since the last install or the extras installed then
# do not cover EXTRAS (the stamp file .venv/.orch-installed holds them), so repeated
# runs are instant. Run from the repository root.
ensure_venv() {
  local extras=${1:-} stamp=.venv/.orch-installed spec=.
  [ -n "$extras" ] && spec=".[$extras]"
  if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv" >&2
    python3 -m venv .venv
  fi
  if [ -f "$stamp" ] && [ ! pyproject.toml -nt "$stamp" ] \
      && { [ -z "$extras" ] || [ "$(cat "$stamp")" = "$extras" ]; }; then
    return 0
  fi
  echo "==> pip install -e '$spec'" >&2
  .venv/bin/python -m pip install -qq --disable-pip-version-check -e "$spec" >&2
  echo "$extras" >"$stamp"
}
