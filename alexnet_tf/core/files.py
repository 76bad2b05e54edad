"""Whole-file writes: a temporary name first, renamed when complete, so a reader (or a
run killed at any moment) never sees half a file; and a file's digest, read in blocks.
No TensorFlow here.

A temporary is named `NAME.tmp-PID[.ext]`: a failed write removes its own, and
`remove_stale_temporaries` removes those of processes that were killed mid-write.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil

_TEMPORARY = re.compile(r".+\.tmp-(\d+)(\.[A-Za-z0-9]+)?$")


def temporary_name(path: str) -> str:
    """`path`'s temporary name for this process; the extension is kept (Keras and
    matplotlib choose the format from it)."""
    root, ext = os.path.splitext(path)
    return (
        f"{root}.tmp-{os.getpid()}{ext}"
        if ext in (".keras", ".png")
        else f"{path}.tmp-{os.getpid()}"
    )


@contextlib.contextmanager
def replacing(path: str):
    """Yields the temporary name to write; on success it replaces `path`, on any error
    (a full disk included) it is removed and `path` is left as it was."""
    tmp = temporary_name(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def save_figure(fig, path: str) -> str:
    """A matplotlib figure laid out and written whole to `path` (PNG, 100 dpi), then
    closed."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    with replacing(path) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)
    return path


def atomic_write_bytes(path: str, data: bytes) -> None:
    with replacing(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())


def atomic_write_text(path: str, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str, obj) -> None:
    atomic_write_text(path, json.dumps(obj, indent=1) + "\n")


def atomic_copy(source: str, path: str) -> None:
    """`path` becomes a whole copy of `source`: a hard link where the file system allows
    (no bytes written), else a copy; under a temporary name first, as every write."""
    with replacing(path) as tmp:
        try:
            os.link(source, tmp)
        except OSError:
            shutil.copyfile(source, tmp)


def file_digest(path: str, algorithm: str) -> str:
    """The hex digest of a file ("sha256", "md5", ...), read in blocks: memory stays
    flat for a 138 GB archive."""
    with open(path, "rb") as f:
        digest = hashlib.file_digest(f, lambda: hashlib.new(algorithm, usedforsecurity=False))
    return digest.hexdigest()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(directory: str) -> list[str]:
    """Delete the temporaries in `directory` left by processes no longer running (a write
    interrupted by kill -9); returns their names."""
    removed = []
    if not os.path.isdir(directory):
        return removed
    for name in sorted(os.listdir(directory)):
        match = _TEMPORARY.match(name)
        if match and not _alive(int(match.group(1))):
            with contextlib.suppress(OSError):
                os.remove(os.path.join(directory, name))
                removed.append(name)
    return removed
