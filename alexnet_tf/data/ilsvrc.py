"""ILSVRC-2012 as image-net.org ships it: three files read in place, nothing extracted.

    ILSVRC2012_img_train.tar       1,000 inner tars <wnid>.tar of <wnid>_<n>.JPEG
    ILSVRC2012_img_val.tar         50,000 flat ILSVRC2012_val_<8 digits>.JPEG
    ILSVRC2012_devkit_t12.tar.gz   data/meta.mat, data/ILSVRC2012_validation_ground_truth.txt

`plan` indexes the two image tars once (tar headers only: the offset and size of every
image, inner tars included), saves the index beside the shards, and returns the same
`tfrecords.Plan` the folder path builds, each item carrying where its bytes are, so the
converter's workers read images by offset (`read_member`).

Labels. The ground-truth file holds ILSVRC2012_IDs, one per validation image in file-name
order; `meta.mat` maps each leaf synset's ID to its WNID. ID order is not sorted-WNID
order, and every trained model (bvlc_alexnet, TF's converters, TFDS, Keras) numbers its
outputs by sorted WNID, as the folder path numbers class folders. So a label goes
ID -> WNID -> place in the sorted list of the devkit's leaves (`docs/data.md`).
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import os
import tarfile
from dataclasses import dataclass

from alexnet_tf.core.files import file_digest, replacing
from alexnet_tf.data.plan import ConversionError, Plan

TRAIN_TAR = "ILSVRC2012_img_train.tar"
VALIDATION_TAR = "ILSVRC2012_img_val.tar"
DEVKIT = "ILSVRC2012_devkit_t12.tar.gz"
ARCHIVES = {"train": TRAIN_TAR, "validation": VALIDATION_TAR}
META_MAT = "data/meta.mat"
GROUND_TRUTH = "data/ILSVRC2012_validation_ground_truth.txt"
# The published md5 sums (those torchvision checks); the devkit circulates in two packings.
MD5 = {
    TRAIN_TAR: ("1d675b47d978889d74fa0da5fadfb00e",),
    VALIDATION_TAR: ("29b22e2961454d5413ddabcf34fc5622",),
    DEVKIT: ("fa75699e90414af021442c21a62c3abf", "9aa5a8351aa504e3bd61f1fe87df7b76"),
}
OFFICIAL_IMAGES = {"train": 1_281_167, "validation": 50_000}
OFFICIAL_CLASSES = 1000
INDEX_FILE = "archive_index.json.gz"  # in the output directory; reused when archives match
INDEX_VERSION = 1
BLOCK = tarfile.BLOCKSIZE


class ArchiveError(ConversionError):
    """A missing, truncated or corrupt archive, or a devkit that does not fit the images."""


@dataclass(frozen=True)
class Devkit:
    """What the devkit says: the leaf synsets (the classes) and the validation labels."""

    wnids: tuple[str, ...]  # the leaves' WNIDs, sorted: output index = place here
    names: tuple[str, ...]  # meta.mat's `words`, in the same order
    id_to_wnid: dict  # ILSVRC2012_ID -> WNID, leaves only
    ground_truth: tuple[int, ...]  # one ILSVRC2012_ID per validation image, file-name order

    def label_of_id(self, ilsvrc_id: int) -> int:
        """0-based output index of a ground-truth ID: ID -> WNID -> sorted place."""
        return self.wnids.index(self.id_to_wnid[ilsvrc_id])


def read_meta(data: bytes) -> tuple[dict, dict]:
    """meta.mat's leaf synsets (`num_children == 0`): ({ID: WNID}, {WNID: words})."""
    import scipy.io

    synsets = scipy.io.loadmat(io.BytesIO(data), squeeze_me=True)["synsets"].ravel()
    id_to_wnid, words = {}, {}
    for s in synsets:
        if int(s["num_children"]) == 0:
            id_to_wnid[int(s["ILSVRC2012_ID"])] = str(s["WNID"])
            words[str(s["WNID"])] = str(s["words"])
    return id_to_wnid, words


def read_devkit(path: str) -> Devkit:
    """The devkit's meta.mat and ground truth, read from the .tar.gz in memory."""
    found = {}
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar:
                for want in (META_MAT, GROUND_TRUTH):
                    if member.isfile() and member.name.endswith(want):
                        found[want] = tar.extractfile(member).read()
    except (tarfile.TarError, OSError, EOFError) as e:
        raise ArchiveError(f"{path} is not a readable .tar.gz devkit ({e}).") from None
    missing = [w for w in (META_MAT, GROUND_TRUTH) if w not in found]
    if missing:
        raise ArchiveError(f"{path} holds no {' or '.join(missing)}: is it {DEVKIT}?")
    id_to_wnid, words = read_meta(found[META_MAT])
    if len(set(id_to_wnid.values())) != len(id_to_wnid):
        raise ArchiveError(f"{path}: meta.mat lists a leaf WNID twice.")
    try:
        truth = tuple(int(line) for line in found[GROUND_TRUTH].decode().split())
    except ValueError as e:
        raise ArchiveError(f"{path}: {GROUND_TRUTH} is not one integer per line ({e}).") from None
    unknown = sorted(set(truth) - set(id_to_wnid))
    if unknown:
        raise ArchiveError(
            f"{path}: {GROUND_TRUTH} names ILSVRC2012_IDs that are no leaf of meta.mat "
            f"({unknown[:5]}); the leaves' IDs run {min(id_to_wnid)}..{max(id_to_wnid)}."
        )
    wnids = tuple(sorted(id_to_wnid.values()))
    return Devkit(wnids, tuple(words[w] for w in wnids), id_to_wnid, truth)


# ---------------------------------------------------------------------------- tar headers


def _members(fileobj, base: int, size: int, where: str) -> list[tuple[str, int, int]]:
    """(name, absolute data offset, size) of the regular files of the tar at `base`
    (`size` bytes) in `fileobj`. Raises ArchiveError naming `where` and the last member
    read when the tar ends early or a header is corrupt: tarfile itself stops without a
    word at a bad header, so the end-of-archive block is checked here."""
    sub = _Window(fileobj, base, size)
    out: list[tuple[str, int, int]] = []
    last = "no member (the first header)"
    try:
        tar = tarfile.open(fileobj=sub, mode="r:")
        for m in tar:
            if m.offset_data + m.size > size:
                raise ArchiveError(
                    f"{where} is truncated: it ends inside {m.name} (after {len(out)} "
                    f"complete members; the last complete one: {last}). Download it again."
                )
            if m.isfile():
                out.append((m.name, base + m.offset_data, m.size))
            last = m.name
        end = tar.offset  # where the next header would start
    except tarfile.TarError as e:
        raise ArchiveError(
            f"{where} is truncated or corrupt after {last} ({e}). Download it again."
        ) from None
    block = sub.read_at(end, BLOCK)
    if len(block) < BLOCK:
        raise ArchiveError(
            f"{where} is truncated: it ends after {last} without the end-of-archive "
            f"marker ({len(out)} members read). Download it again."
        )
    if block.strip(b"\0"):
        raise ArchiveError(
            f"{where} is corrupt: the header after {last} (byte {base + end}) is not a tar "
            f"header ({len(out)} members read). Download it again."
        )
    return out


class _Window(io.RawIOBase):
    """Bytes [base, base + size) of a file, as a seekable file of its own."""

    def __init__(self, f, base: int, size: int):
        self.f, self.base, self.size, self.pos = f, base, size, 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self.pos

    def seek(self, offset, whence=0):
        self.pos = {0: 0, 1: self.pos, 2: self.size}[whence] + offset
        return self.pos

    def read(self, n=-1):
        data = self.read_at(self.pos, self.size - self.pos if n is None or n < 0 else n)
        self.pos += len(data)
        return data

    def read_at(self, pos: int, n: int) -> bytes:
        n = max(0, min(n, self.size - pos))
        self.f.seek(self.base + pos)
        return self.f.read(n)


def index_validation(path: str) -> list[tuple[str, int, int]]:
    """Every image of the validation tar: (name, offset, size), sorted by name."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        members = _members(f, 0, size, os.path.basename(path))
    return sorted(members)


def index_train(path: str, skipped: list) -> list[tuple[str, str, int, int]]:
    """Every image of the train tar of tars: (wnid, name, offset, size), by WNID then
    name. Outer members that are no `<wnid>.tar` go to `skipped` with the reason."""
    where = os.path.basename(path)
    size = os.path.getsize(path)
    out = []
    with open(path, "rb") as f:
        for inner, offset, inner_size in sorted(_members(f, 0, size, where)):
            if not inner.endswith(".tar"):
                skipped.append((f"{where}/{inner}", "not an inner <wnid>.tar"))
                continue
            wnid = os.path.basename(inner)[: -len(".tar")]
            members = _members(f, offset, inner_size, f"{where}/{inner}")
            out.extend((wnid, name, off, n) for name, off, n in sorted(members))
    return out


def _stamp(path: str) -> list:
    st = os.stat(path)
    return [st.st_size, st.st_mtime_ns]


def load_index(ilsvrc_dir: str, output_dir: str, skipped: list) -> dict:
    """The archives' index: read from `output_dir` when it was made from these very files
    (same sizes and modification times), else built from the tar headers and saved."""
    paths = {s: os.path.join(ilsvrc_dir, a) for s, a in ARCHIVES.items()}
    stamps = {s: _stamp(p) for s, p in paths.items()}
    saved = os.path.join(output_dir, INDEX_FILE)
    try:
        with gzip.open(saved, "rt", encoding="utf-8") as f:
            index = json.load(f)
        if index.get("version") == INDEX_VERSION and index.get("stamps") == stamps:
            skipped.extend(tuple(s) for s in index["skipped"])
            return index
    except (OSError, ValueError, EOFError):
        pass
    logging.info("indexing %s and %s (tar headers only)", VALIDATION_TAR, TRAIN_TAR)
    own_skipped: list = []
    index = {
        "version": INDEX_VERSION,
        "stamps": stamps,
        "validation": index_validation(paths["validation"]),
        "train": index_train(paths["train"], own_skipped),
        "skipped": own_skipped,
    }
    with replacing(saved) as tmp, gzip.open(tmp, "wt", encoding="utf-8") as f:
        json.dump(index, f, separators=(",", ":"))
    skipped.extend(own_skipped)
    return index


# ---------------------------------------------------------------------------- checks


def check_present(ilsvrc_dir: str) -> None:
    """All three files under their official names, or an error naming what is missing."""
    if not os.path.isdir(ilsvrc_dir):
        raise ArchiveError(f"--ilsvrc_dir={ilsvrc_dir} does not exist or is not a directory.")
    missing = [a for a in (TRAIN_TAR, VALIDATION_TAR, DEVKIT) if not _isfile(ilsvrc_dir, a)]
    if missing:
        found = sorted(os.listdir(ilsvrc_dir))[:10]
        raise ArchiveError(
            f"--ilsvrc_dir={ilsvrc_dir} lacks {', '.join(missing)}: it must hold the three "
            f"files image-net.org ships ({TRAIN_TAR}, {VALIDATION_TAR}, {DEVKIT}) under "
            f"those names. Found: {found or 'an empty directory'}."
        )


def _isfile(folder: str, name: str) -> bool:
    return os.path.isfile(os.path.join(folder, name))


def verify_md5(ilsvrc_dir: str, sums: dict = MD5) -> None:
    """Compare each file's md5 with the published one; raise naming every file that differs."""
    bad = []
    for name, good in sums.items():
        logging.info("md5 of %s", name)
        got = file_digest(os.path.join(ilsvrc_dir, name), "md5")
        if got not in good:
            bad.append(f"{name} (md5 {got}, published {' or '.join(good)})")
    if bad:
        raise ArchiveError(
            f"--verify_archives: {'; '.join(bad)} differ from image-net.org's files: a "
            "damaged or different download."
        )


# ---------------------------------------------------------------------------- the plan


def plan(ilsvrc_dir: str, output_dir: str, verify: bool = False):
    """(tfrecords.Plan, files skipped, notes for the report) for the three archives. The
    devkit is read and the archives checked before anything is written but the index."""
    check_present(ilsvrc_dir)
    if verify:
        verify_md5(ilsvrc_dir)
    root = os.path.realpath(ilsvrc_dir)
    devkit = read_devkit(os.path.join(root, DEVKIT))
    skipped: list = []
    os.makedirs(output_dir, exist_ok=True)
    index = load_index(root, output_dir, skipped)
    place = {w: i for i, w in enumerate(devkit.wnids)}
    inner_tars = {wnid for wnid, *_ in index["train"]}
    stray = sorted(inner_tars - set(place))
    if stray:
        raise ArchiveError(
            f"{TRAIN_TAR} holds inner tars for WNIDs that are no leaf of the devkit's "
            f"meta.mat: {stray[:5]}: is {DEVKIT} ILSVRC-2012's?"
        )
    validation = index["validation"]
    if len(validation) != len(devkit.ground_truth):
        raise ArchiveError(
            f"{VALIDATION_TAR} holds {len(validation)} images but the devkit's "
            f"{GROUND_TRUTH} labels {len(devkit.ground_truth)}: they must match one to one."
        )
    items = {
        "train": [
            (f"{TRAIN_TAR}/{wnid}.tar/{name}", place[wnid], TRAIN_TAR, offset, size)
            for wnid, name, offset, size in index["train"]
        ],
        "validation": [
            (f"{VALIDATION_TAR}/{name}", devkit.label_of_id(i), VALIDATION_TAR, offset, size)
            for (name, offset, size), i in zip(validation, devkit.ground_truth, strict=True)
        ],
    }
    counts = {s: len(v) for s, v in items.items()}
    items = {s: v for s, v in items.items() if v}  # an archive of no image: no shards
    notes = [
        f"{ARCHIVES[s]} holds {counts[s]:,} images, not ILSVRC-2012's {OFFICIAL_IMAGES[s]:,}: "
        "a partial or different download."
        for s in ARCHIVES
        if counts[s] != OFFICIAL_IMAGES[s]
    ]
    if len(devkit.wnids) != OFFICIAL_CLASSES:
        notes.append(f"{DEVKIT} has {len(devkit.wnids)} leaf synsets, not {OFFICIAL_CLASSES}.")
    for note in notes:
        logging.warning(note)
    source = {
        "ilsvrc_dir": root,
        "images": counts,
        "classes": len(devkit.wnids),
        "inner_tars": len(inner_tars),
        "notes": notes,
    }
    result = Plan(
        input_dir=root, classes=devkit.wnids, names=devkit.names, items=items, source=source
    )
    return result, skipped


def read_member(input_dir: str, item: tuple, handles: dict) -> bytes:
    """The bytes of an archived image: `item` is (rel, label, archive, offset, size);
    `handles` caches one open file per archive."""
    rel, _, archive, offset, size = item
    f = handles.get(archive)
    if f is None:
        f = handles[archive] = open(os.path.join(input_dir, archive), "rb")  # noqa: SIM115
    f.seek(offset)
    data = f.read(size)
    if len(data) != size:
        raise ArchiveError(
            f"{archive} changed since it was indexed: {rel} ends at byte {offset + len(data)} "
            f"of {offset + size}. Delete {INDEX_FILE} from the output directory and run again."
        )
    return data
