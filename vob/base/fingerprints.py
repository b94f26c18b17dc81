"""A file's fingerprint (SHA-256, hex digits written g-p) and its disk stat: what the landing reader,
the registers, the landing sensor's cursor and the published marts use to tell content that changed."""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK_BYTES = 1 << 20  # read from disk at once for the fingerprint

HEX_AS_LETTERS = str.maketrans("0123456789", "ghijklmnop")


def fingerprint(digest: hashlib._Hash) -> str:
    """A SHA-256 as the project writes it, in the working database and in the sensor's cursor:
    hex with the digits written g-p (vob/landing/ingest.scan_file says why)."""
    return digest.hexdigest().translate(HEX_AS_LETTERS)


def file_fingerprint(path: Path) -> str:
    """A file's fingerprint, read in chunks (the landing sensor's, without scan_file's line count)."""
    digest = hashlib.sha256()
    with path.open("rb") as data:
        while chunk := data.read(CHUNK_BYTES):
            digest.update(chunk)
    return fingerprint(digest)


# What the file system says of a file: size, mtime_ns, ctime_ns, inode, device (meta.landing_file_stats).
DiskStat = tuple[int, int, int, int, int]


def disk_stat(path: Path) -> DiskStat:
    st = path.stat()
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev


def disk_stat_if_any(path: Path) -> DiskStat | None:
    """`disk_stat`, or None when the file is gone (deleted or renamed since it was listed)."""
    try:
        return disk_stat(path)
    except FileNotFoundError:
        return None
