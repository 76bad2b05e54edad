"""Which precision a run computes in, and why.

`--mixed_precision=auto` (the default of every command that computes) resolves here, once,
where the command starts; importing the package sets no policy, optimizer option or
environment variable, and model files hold no precision.

- GPUs: compute capability 8.0 or more (A100, H100, RTX 30xx/40xx): mixed_bfloat16; 7.x
  (V100, T4, RTX 20xx): mixed_float16, with loss scaling; older: float32.
- CPUs with bfloat16 units (the `amx_bf16` or `avx512_bf16` flags of /proc/cpuinfo),
  unless ONEDNN_MAX_CPU_ISA hides them from oneDNN: mixed_bfloat16.
- Elsewhere float32: without those units bfloat16 is emulated and slower.

Variables (the master weights), the input preprocessing, the LRN's arithmetic, the
logits, softmax and loss stay float32 under every policy. The measured speed of each
choice, by CPU, is in docs/performance.md.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os

PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
POLICIES = PRECISIONS[1:]
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")
# oneDNN ISA limits (ONEDNN_MAX_CPU_ISA) below which it uses no bfloat16 instructions.
ISAS_WITHOUT_BF16 = ("SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX512_CORE", "AVX512_CORE_VNNI")


@dataclasses.dataclass(frozen=True)
class Machine:
    """What the choice depends on."""

    cpu_model: str = "unknown CPU"
    cpu_flags: frozenset = frozenset()
    gpus: tuple = ()  # ((name, (major, minor)), ...) compute capabilities
    onednn_max_isa: str = ""

    @property
    def cpu_bf16_flags(self) -> list[str]:
        return [f for f in BF16_CPU_FLAGS if f in self.cpu_flags]

    def describe_cpu(self) -> str:
        flags = ", ".join(self.cpu_bf16_flags) or "no bfloat16 flags"
        return f"{self.cpu_model} ({flags})"


@dataclasses.dataclass(frozen=True)
class Choice:
    policy: str  # a Keras dtype policy, never "auto"
    asked: str
    reason: str

    def as_record(self) -> dict:
        return {
            "mixed_precision": self.policy,
            "mixed_precision_asked": self.asked,
            "mixed_precision_reason": self.reason,
        }


def read_cpu(path: str = "/proc/cpuinfo") -> tuple[str, frozenset]:
    """(model name, flags) of the first CPU in /proc/cpuinfo; unknown where there is none."""
    model, flags = "unknown CPU", frozenset()
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and model == "unknown CPU":
                    model = value.strip()
                elif key in ("flags", "Features") and not flags:
                    flags = frozenset(value.split())
                if model != "unknown CPU" and flags:
                    break
    except OSError:
        pass
    return model, flags


@functools.lru_cache(maxsize=1)
def cpu_has_bf16_tiles() -> bool:
    """Whether this machine's CPU computes bfloat16 matrix products on tiles (AMX: the
    `amx_bf16` flag of /proc/cpuinfo), unless ONEDNN_MAX_CPU_ISA names an ISA without
    AMX. conv1's space-to-depth form gains where they compute it and not on CPUs with
    `avx512_bf16` alone (docs/performance.md); the layer asks this."""
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper()
    return "amx_bf16" in read_cpu()[1] and (not isa or "AMX" in isa or isa == "ALL")


def this_machine() -> Machine:
    """The machine as TensorFlow and /proc/cpuinfo see it (imports TensorFlow)."""
    import tensorflow as tf

    gpus = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        gpus.append((details.get("device_name", gpu.name), details.get("compute_capability")))
    model, flags = read_cpu()
    return Machine(model, flags, tuple(gpus), os.environ.get("ONEDNN_MAX_CPU_ISA", ""))


def choose(asked: str, machine: Machine) -> Choice:
    """The policy for `asked` ("auto" or an explicit policy) on `machine`."""
    if asked not in PRECISIONS:
        raise ValueError(
            f"mixed_precision must be one of {', '.join(PRECISIONS)}. Received: {asked}"
        )
    if asked != "auto":
        return Choice(asked, asked, f"--mixed_precision={asked} was asked for")
    if machine.gpus:
        capabilities = [cc or (0, 0) for _, cc in machine.gpus]
        lowest = min(capabilities)
        names = ", ".join(
            f"{name} ({cc[0]}.{cc[1]})"
            for (name, _), cc in zip(machine.gpus, capabilities, strict=True)
        )
        if lowest >= (8, 0):
            return Choice("mixed_bfloat16", asked, f"GPUs with bfloat16 tensor cores: {names}")
        if lowest >= (7, 0):
            return Choice(
                "mixed_float16", asked, f"GPUs with float16 tensor cores: {names}; loss scaling on"
            )
        return Choice("float32", asked, f"GPUs without tensor cores: {names}")
    units = machine.cpu_bf16_flags
    if units and machine.onednn_max_isa.upper() in ISAS_WITHOUT_BF16:
        return Choice(
            "float32",
            asked,
            f"{machine.describe_cpu()}, but ONEDNN_MAX_CPU_ISA={machine.onednn_max_isa} "
            "hides its bfloat16 instructions from oneDNN",
        )
    if units:
        return Choice(
            "mixed_bfloat16", asked, f"{machine.describe_cpu()} computes bfloat16 in hardware"
        )
    return Choice("float32", asked, f"{machine.describe_cpu()} has no bfloat16 units")


def resolve(asked: str, previous: dict | None = None) -> Choice:
    """choose() on this machine. `previous`, the record of a run being resumed: with
    "auto" the run keeps the policy it started with; an explicit policy must equal it."""
    if previous and previous.get("mixed_precision") in POLICIES:
        started = previous["mixed_precision"]
        if asked == "auto":
            return Choice(started, asked, f"the run started in {started} and keeps it")
        if asked != started:
            raise ValueError(
                f"--mixed_precision={asked}, but this run started in {started}; a run keeps "
                f"its precision: give --mixed_precision={started} (or auto), or a new --model_dir."
            )
    return choose(asked, this_machine())


@contextlib.contextmanager
def policy_scope(policy: str):
    """Keras' global dtype policy set to `policy` inside, and put back after: layers
    made inside keep it (a model built here computes in it)."""
    import keras

    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {', '.join(POLICIES)}. Received: {policy}")
    before = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(before)
