"""The pod sandbox image, `orch/pause:1`, made on the spot: no registry needed.

A pod of several containers shares one network namespace (localhost, one pod IP, the
pod's host ports), which belongs to a sandbox container that only waits. Kubernetes uses
the `pause` image for it; orch builds the equivalent with `docker import` of a one-file
root filesystem: `/pause`, a static ELF of a few dozen bytes that sleeps in the kernel
until it is killed (x86-64: `pause()`, arm64: `ppoll()`, in a loop).
"""

from __future__ import annotations

import io
import platform
import struct
import tarfile

PAUSE_IMAGE = "orch/pause:1"
_BASE = 0x400000
_HEADERS = 64 + 56  # ELF header + one program header
# loop: mov eax, 34 (pause); syscall; jmp loop
_X86_64 = bytes.fromhex("b822000000" "0f05" "ebf7")
# loop: movz x8, #73 (ppoll); movz x0..x3, #0; svc #0; b loop
_ARM64 = b"".join(struct.pack("<I", op) for op in (
    0xD2800928, 0xD2800000, 0xD2800001, 0xD2800002, 0xD2800003, 0xD4000001, 0x17FFFFFA))
_MACHINES = {"x86_64": (0x3E, _X86_64), "amd64": (0x3E, _X86_64), "aarch64": (0xB7, _ARM64), "arm64": (0xB7, _ARM64)}


def pause_binary(machine: str | None = None) -> bytes | None:
    """The static ELF for this machine's architecture, or None where we have no code for it."""
    found = _MACHINES.get((machine or platform.machine()).lower())
    if found is None:
        return None
    e_machine, code = found
    size = _HEADERS + len(code)
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)  # 64-bit, little endian, version 1, SysV
    header = ident + struct.pack("<HHIQQQIHHHHHH", 2, e_machine, 1, _BASE + _HEADERS, 64, 0, 0, 64, 56, 1, 0, 0, 0)
    program = struct.pack("<IIQQQQQQ", 1, 5, 0, _BASE, _BASE, size, size, 0x1000)  # PT_LOAD, R+X
    return header + program + code


def pause_rootfs(machine: str | None = None) -> bytes | None:
    """A tar of the sandbox's root filesystem (just /pause), for `docker import`."""
    binary = pause_binary(machine)
    if binary is None:
        return None
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        entry = tarfile.TarInfo("pause")
        entry.size, entry.mode = len(binary), 0o755
        tar.addfile(entry, io.BytesIO(binary))
    return buf.getvalue()
