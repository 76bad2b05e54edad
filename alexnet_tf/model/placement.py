"""Which device each AlexNet tower runs on.

The paper split the network over two GTX 580s (section 3.2). `resolve_tower_devices`
turns the user's `tower_devices` argument into a concrete pair of device names (or
None for "no pinning") and refuses devices this process cannot see.
"""

from __future__ import annotations

import contextlib
import logging

import tensorflow as tf

AUTO = "auto"


def _canonical(name: str) -> str:
    """'/GPU:0', 'gpu:0', '/device:GPU:0', '/job:localhost/.../device:GPU:0' -> 'GPU:0'."""
    spec = tf.DeviceSpec.from_string(name)
    if spec.device_type is None:
        raise ValueError(
            f"Device name {name!r} names no device type; expected e.g. '/GPU:0' or '/CPU:1'."
        )
    return f"{spec.device_type.upper()}:{spec.device_index or 0}"


def available_devices() -> list[str]:
    """Logical devices of this process, canonical form ('CPU:0', 'GPU:1', ...)."""
    return [_canonical(d.name) for d in tf.config.list_logical_devices()]


def resolve_tower_devices(tower_devices) -> tuple[str, str] | None:
    """Return the (tower a, tower b) device pair, or None for no pinning.

    Accepts "auto" (two GPUs when there are at least two, otherwise no pinning), None,
    or a pair of device names that must exist in this process.
    """
    if tower_devices is None:
        return None
    if isinstance(tower_devices, str):
        if tower_devices != AUTO:
            raise ValueError(
                "tower_devices must be 'auto', None or a pair of device names such as "
                f"('/GPU:0', '/GPU:1'). Received: tower_devices={tower_devices!r}"
            )
        gpus = [d for d in available_devices() if d.startswith("GPU:")]
        if len(gpus) >= 2:
            chosen = (f"/{gpus[0]}", f"/{gpus[1]}")
            logging.info("tower_devices='auto': tower a on %s, tower b on %s", *chosen)
            return chosen
        logging.info(
            "tower_devices='auto': %d GPU(s) visible, so both towers share the default "
            "device (no pinning)",
            len(gpus),
        )
        return None
    pair = tuple(tower_devices)
    if len(pair) != 2 or not all(isinstance(d, str) for d in pair):
        raise ValueError(
            "tower_devices must name exactly two devices, one per tower. "
            f"Received: tower_devices={tower_devices!r}"
        )
    known = available_devices()
    for device in pair:
        if _canonical(device) not in known:
            raise ValueError(
                f"Device {device!r} in tower_devices does not exist in this process. "
                f"Available devices: {', '.join('/' + d for d in known)}"
            )
    return pair


def loadable_tower_devices(tower_devices):
    """`tower_devices` of a saved model, for loading it in this process: a pair this
    process lacks becomes None (no pinning), logged once per pair, so a model trained on
    two GPUs loads and runs anywhere, computing the same function."""
    if tower_devices is None or isinstance(tower_devices, str):
        return tower_devices
    known = available_devices()
    try:
        missing = [d for d in tower_devices if _canonical(d) not in known]
    except (ValueError, TypeError):
        return tower_devices  # not device names: the constructor reports them
    if not missing:
        return tower_devices
    if tuple(tower_devices) not in _LOGGED_UNPINNED:
        _LOGGED_UNPINNED.add(tuple(tower_devices))
        logging.warning(
            "This model's towers were pinned to %s; %s missing in this process (devices: "
            "%s), so it runs unpinned, on the default device.",
            ", ".join(tower_devices),
            ", ".join(missing),
            ", ".join("/" + d for d in known),
        )
    return None


_LOGGED_UNPINNED: set = set()


def device_scope(device: str | None):
    """`tf.device(device)`, or a no-op context for None."""
    return tf.device(device) if device else contextlib.nullcontext()
