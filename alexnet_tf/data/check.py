"""Find the records a training run cannot use, naming shard and record (the library
behind `python -m alexnet_tf.check_data`).

A record is bad when the file is damaged there (truncated shard, flipped bytes: the
TFRecord checksum fails, and the reader cannot go on past it, so the rest of that shard is
lost too), when it is not a tf.train.Example of our schema, when its image does not decode
the way training decodes it, or when its label is outside the data set's classes.

TensorFlow's own errors name no file; the training run uses this scan to name the shard
when its input fails, and `--skip_bad_records` uses it to leave the bad records out and
count them (the scan is kept in the run directory's data_check.json and reused while the
shards are unchanged).
"""

from __future__ import annotations

import dataclasses
import os
import re

import tensorflow as tf

from alexnet_tf.core import constants
from alexnet_tf.data import augment, pipeline, schema


@dataclasses.dataclass(frozen=True)
class BadRecord:
    shard: str
    record: int  # 0-based position in the shard
    reason: str
    rest_of_shard: bool = False  # the reader stops here: this and later records are lost

    def describe(self) -> str:
        where = f"{self.shard}, record {self.record}"
        lost = " (the shard cannot be read past this point)" if self.rest_of_shard else ""
        return f"{where}: {self.reason}{lost}"


def _reason(error: Exception) -> str:
    """TensorFlow's error message without its graph-node decoration."""
    text = getattr(error, "message", str(error))
    text = re.sub(r"\{\{[^}]*\}\}\s*", "", text)
    text = re.sub(r"\s*\[Op:[^\]]*\].*$", "", text, flags=re.S)
    return " ".join(text.split()) or type(error).__name__


def _readable_records(path: str) -> tuple[int, BadRecord | None]:
    """Records readable from the start of the shard, and where reading fails (if it does)."""
    n = 0
    try:
        for _ in tf.data.TFRecordDataset(path).map(tf.strings.length):
            n += 1
    except tf.errors.OpError as e:
        return n, BadRecord(path, n, _reason(e), rest_of_shard=True)
    return n, None


def _record_check(decode, num_classes: int):
    def check(serialized):
        image_bytes, label, _ = schema.parse_example(serialized)
        image = decode(image_bytes, augment.CENTRE_OFFSET)
        checks = []
        if num_classes:
            checks.append(
                tf.debugging.assert_less(
                    label,
                    num_classes,
                    message=f"label is not one of the data set's {num_classes} classes",
                )
            )
            checks.append(
                tf.debugging.assert_non_negative(
                    label, message="label is not one of the data set's classes"
                )
            )
        with tf.control_dependencies(checks):
            # The pixels are part of the result: a decode whose output nothing reads is
            # pruned from the graph, and its error would go unseen.
            return tf.identity(label), tf.reduce_max(image)

    return check


def scan_shard(path: str, decode, num_classes: int = 0) -> tuple[int, list[BadRecord]]:
    """(records in the shard that can be read, the bad records)."""
    readable, broken = _readable_records(path)
    check = _record_check(decode, num_classes)
    records = tf.data.TFRecordDataset(path).take(readable)
    good = pipeline.fixed(
        records.enumerate().map(
            lambda i, r: (i, *check(r)),
            num_parallel_calls=pipeline.input_threads(),
            deterministic=True,
        )
    )
    ok = {int(i) for i, _, _ in good.ignore_errors()}
    bad = []
    for i in sorted(set(range(readable)) - ok):  # rare: check each again for its reason
        (record,) = list(records.skip(i).take(1))
        try:
            check(record)
            reason = "failed to decode in the input pipeline"
        except (tf.errors.OpError, ValueError) as e:
            reason = _reason(e)
        bad.append(BadRecord(path, i, reason))
    if broken:
        bad.append(broken)
    return readable, bad


def shard_signature(path: str) -> list:
    st = os.stat(path)
    return [os.path.basename(path), st.st_size, int(st.st_mtime)]


def scan(data_dir: str, splits=constants.SPLITS, stop_at_first: bool = False, log=None) -> dict:
    """{"shards": {path: {"signature", "readable", "bad": [BadRecord...]}}, "num_bad": n}
    over the shards of `splits`; with stop_at_first, the scan ends after the first shard
    with a bad record."""
    meta = pipeline.metadata_file(data_dir)
    num_classes = len(meta.get("classes", ()))
    decode = pipeline.image_decoder(data_dir)
    result = {"shards": {}, "num_bad": 0}
    for split in splits:
        for path in pipeline.list_shards(data_dir, split):
            readable, bad = scan_shard(path, decode, num_classes)
            result["shards"][path] = {
                "signature": shard_signature(path),
                "readable": readable,
                "bad": bad,
            }
            result["num_bad"] += len(bad)
            if log and bad:
                for b in bad:
                    log(b.describe())
            if stop_at_first and bad:
                return result
    return result


def all_bad(result: dict) -> list[BadRecord]:
    return [b for info in result["shards"].values() for b in info["bad"]]


def exclusions(result: dict) -> dict:
    """What the input pipeline must leave out: {shard path: (records to read, [bad record
    positions below that])}, for shards with bad records only."""
    out = {}
    for path, info in result["shards"].items():
        if info["bad"]:
            positions = sorted(b.record for b in info["bad"] if not b.rest_of_shard)
            out[path] = (info["readable"], positions)
    return out


def to_json(result: dict) -> dict:
    return {
        "num_bad": result["num_bad"],
        "shards": {
            p: {**info, "bad": [dataclasses.asdict(b) for b in info["bad"]]}
            for p, info in result["shards"].items()
        },
    }


def from_json(obj: dict) -> dict:
    return {
        "num_bad": obj["num_bad"],
        "shards": {
            p: {**info, "bad": [BadRecord(**b) for b in info["bad"]]}
            for p, info in obj["shards"].items()
        },
    }


def still_valid(result: dict, data_dir: str, splits=constants.SPLITS) -> bool:
    """True when the scanned shards are exactly the data's shards, unchanged."""
    current = [p for s in splits for p in pipeline.list_shards(data_dir, s)]
    return sorted(current) == sorted(result["shards"]) and all(
        result["shards"][p]["signature"] == shard_signature(p) for p in current
    )
