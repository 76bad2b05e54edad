"""A batch the full-size network can fit in a few steps, and the loss before and after."""

import keras
import numpy as np


def colour_batch(n=4):
    """n images, each a distinct colour plus noise: a batch a convnet can fit at once."""
    rng = np.random.default_rng(0)
    colours = np.array([[200, 40, 40], [40, 200, 40], [40, 40, 200], [200, 200, 40]])
    x = colours[np.arange(n) % 4, None, None, :] + rng.normal(0, 30, (n, 224, 224, 3))
    return np.clip(x, 0, 255).astype(np.float32), np.arange(n) % 4


def fits_a_batch(model, steps=8):
    """Loss on a four-colour batch before and after `steps` SGD steps on it."""
    model.compile(
        optimizer=keras.optimizers.SGD(1e-3, momentum=0.9),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=False,
    )
    x, y = colour_batch()
    before = model.evaluate(x, y, verbose=0)
    for _ in range(steps):
        model.train_on_batch(x, y)
    return before, model.evaluate(x, y, verbose=0)
