"""A tiny TFDS image data set, prepared on disk by TFDS itself (no download): three
classes of 40x48 images, a train and a test split and no validation split, as CIFAR-10
has. Once prepared, TFDS reads it from its data dir by name, without this module."""

import numpy as np
import tensorflow_datasets as tfds

NAME = "tiny_shades"
LEVELS = (30, 128, 220)  # each class's grey level
SPLITS = {"train": (24, 0), "test": (9, 1)}  # examples, seed


def images(n: int, seed: int) -> list[tuple[np.ndarray, int]]:
    rng = np.random.default_rng(seed)
    return [
        (np.clip(LEVELS[i % 3] + rng.normal(0, 12, (40, 48, 3)), 0, 255).astype(np.uint8), i % 3)
        for i in range(n)
    ]


class TinyShades(tfds.core.GeneratorBasedBuilder):
    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        features = tfds.features.FeaturesDict(
            {
                "image": tfds.features.Image(shape=(40, 48, 3)),
                "label": tfds.features.ClassLabel(names=["dark", "mid", "bright"]),
            }
        )
        return tfds.core.DatasetInfo(
            builder=self, features=features, supervised_keys=("image", "label")
        )

    def _split_generators(self, dl_manager):
        return {name: self._generate_examples(*spec) for name, spec in SPLITS.items()}

    def _generate_examples(self, n, seed):
        for i, (image, label) in enumerate(images(n, seed)):
            yield i, {"image": image, "label": label}


def prepare(data_dir: str) -> str:
    TinyShades(data_dir=data_dir).download_and_prepare()
    return data_dir
