"""The test image ``orch-test/busybox:latest``, built offline, and the engine check.

No registry is reachable from test machines, so the image is ``docker import`` of a
root filesystem made in memory: the host's static ``/bin/busybox`` plus a symlink per
applet.  Idempotent: an existing image is left alone.

    python -m tests.runtime.image                  # build the image if missing
    python -m tests.runtime.image --start-engine   # also start dockerd if it is down
"""

from __future__ import annotations

import argparse
import io
import shutil
import socket
import subprocess
import sys
import tarfile
import time
from pathlib import Path

TEST_IMAGE = "orch-test/busybox:latest"
BUSYBOX = Path("/bin/busybox")
DOCKER_SOCKET = Path("/var/run/docker.sock")
DOCKERD_LOG = Path("/tmp/dockerd.log")


def engine_answers(*, socket_path: Path = DOCKER_SOCKET, timeout: float = 1.0) -> bool:
    """True when the engine answers ``GET /_ping`` on its socket within ``timeout``."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(socket_path))
            s.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            head = s.recv(64)
    except OSError:
        return False
    return head.startswith(b"HTTP/1.") and b" 200 " in head[:16]


def start_engine(*, wait: float = 30.0) -> None:
    """Start ``dockerd`` in the background (needs root) and wait until it answers."""
    if engine_answers():
        return
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        raise RuntimeError("dockerd is not installed (apt-get install docker.io)")
    with DOCKERD_LOG.open("ab") as out:
        subprocess.Popen([dockerd], stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + wait
    while not engine_answers():
        if time.monotonic() > deadline:
            raise RuntimeError(f"dockerd did not answer within {wait:g}s; see {DOCKERD_LOG}")
        time.sleep(0.2)


def image_present(image: str = TEST_IMAGE) -> bool:
    result = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Id}}", image],
        capture_output=True, check=False, timeout=30,
    )  # fmt: skip
    return result.returncode == 0


def rootfs_tar(*, busybox: Path = BUSYBOX) -> bytes:
    """A tar of / holding busybox and one symlink per applet it was built with."""
    applets = subprocess.run([str(busybox), "--list"], capture_output=True, text=True,
                             check=True, timeout=10).stdout.split()  # fmt: skip
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, mode in [("bin", 0o755), ("dev", 0o755), ("etc", 0o755), ("proc", 0o555),
                           ("sys", 0o555), ("tmp", 0o1777), ("www", 0o755)]:  # fmt: skip
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, mode
            tar.addfile(info)
        tar.add(str(busybox), arcname="bin/busybox")
        for applet in applets:
            if applet == "busybox":
                continue
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(link)
        index = b"hello from orch-test\n"
        page = tarfile.TarInfo("www/index.html")
        page.size, page.mode = len(index), 0o644
        tar.addfile(page, io.BytesIO(index))
    return buf.getvalue()


def ensure_test_image(image: str = TEST_IMAGE) -> str:
    """Build ``image`` with ``docker import`` unless it exists; returns its name."""
    if image_present(image):
        return image
    if not BUSYBOX.exists():
        raise RuntimeError(f"{BUSYBOX} is missing (apt-get install busybox-static)")
    subprocess.run(
        ["docker", "import", "--change", 'CMD ["/bin/sh"]', "-", image],
        input=rootfs_tar(), capture_output=True, check=True, timeout=120,
    )  # fmt: skip
    return image


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start-engine", action="store_true", help="start dockerd if down")
    ns = parser.parse_args(argv)
    if ns.start_engine:
        start_engine()
    elif not engine_answers():
        print(f"docker engine not answering on {DOCKER_SOCKET}", file=sys.stderr)
        return 1
    print(ensure_test_image())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
