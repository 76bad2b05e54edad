"""What a conversion will read: the classes and, per split, each image's place and label.
Shared by the folder path (`data/tfrecords.py`) and the archive path (`data/ilsvrc.py`)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


class ConversionError(ValueError):
    """Bad arguments or input, found before any conversion work starts."""


@dataclass(frozen=True)
class Plan:
    """What to convert: classes, and per split the (relative path, 0-based label) pairs;
    an archived image's item goes on with (archive, offset, size) (`data/ilsvrc.py`)."""

    input_dir: str
    classes: tuple[str, ...]
    names: tuple[str, ...]
    items: dict = field(default_factory=dict)  # split -> list[(relpath, label[, ...])]
    source: dict | None = None  # the archives' counts and notes, for the report

    def digest(self) -> str:
        h = hashlib.sha256()
        for split in sorted(self.items):
            for rel, label, *_ in self.items[split]:
                h.update(f"{split}\0{rel}\0{label}\n".encode())
        h.update("\0".join(self.classes).encode())
        return h.hexdigest()
