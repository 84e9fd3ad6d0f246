# shellcheck shell=bash
# Stand-in for `python -m tests.runtime.image` until that module lands: builds
# orch-test/busybox:latest by `docker import` of a rootfs holding busybox-static
# (no registry, no network). Remove once tests/runtime/image.py exists.
build_test_image_inline() {
  local ref=orch-test/busybox:latest bb root
  docker image inspect "$ref" >/dev/null 2>&1 && return 0
  bb=$(dpkg -L busybox-static 2>/dev/null | grep -m1 '/bin/busybox$' || command -v busybox)
  [ -n "$bb" ] || { echo "!! busybox-static not found" >&2; return 1; }
  root=$(mktemp -d)
  mkdir -p "$root/bin" "$root/tmp" "$root/etc"
  cp "$bb" "$root/bin/busybox"
  for applet in $("$bb" --list); do
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
  done
  echo "==> docker import $ref" >&2
  tar -C "$root" -c . | docker import --change 'CMD ["sh"]' - "$ref" >/dev/null
  rm -rf "$root"
}
