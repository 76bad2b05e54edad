"""What each of the training step's faster forms buys on this machine (`step.py forms`).

The package computes some parts of the training step in forms of its own, each the
same function as TF's plain ops (tests compare each with its plain counterpart, values
and gradients), each taken where it was measured to win:

- conv1_space_to_depth: conv1 as a stride-1 convolution over space-to-depth blocks
  (`TowerConv2D(form="auto")`, in bfloat16 on a CPU with AMX tiles);
- lrn_xla: the LRN's forward and backward as XLA clusters (`LocalResponseNorm`'s
  `fused_training`);
- dense_transposed_input_grad: fc6-fc8's input gradient read from the kernel in its
  stored order (`TowerDense(form="auto")`, in float32);
- preprocess_xla: PCA lighting and the mean in one XLA pass (`ImagePreprocess`'s
  `fused_training`);
- update_xla: the decay, the momentum and the step in one XLA pass for each variable
  of `FUSED_MIN_SIZE` values or more, fc6-fc8's kernels (`PaperSGD(fused=True)`).

This builds the full model as the package chooses ("as chosen"), once more for each form
that applies in the run's precision with that one form set back to TF's plain ops, and
once with all of them plain ("all plain"), then times their training steps in rounds,
one step of each model in turn, so that the machine's drift falls on all of them alike.
Each figure is a model's median step; each ratio is "as chosen" over the variant, so
above 1 is what that form gains.
"""

from __future__ import annotations

import tensorflow as tf
from per_layer import alternated_seconds

from alexnet_tf.model.layers import ImagePreprocess, LocalResponseNorm, TowerConv2D, TowerDense
from alexnet_tf.studies import speed

AS_CHOSEN, ALL_PLAIN = "as chosen", "all plain"
FORMS = (
    "conv1_space_to_depth",
    "lrn_xla",
    "dense_transposed_input_grad",
    "preprocess_xla",
    "update_xla",
)


def _layers(model, cls):
    return [layer for layer in model.layers if isinstance(layer, cls)]


def _conv1(model):
    return [layer for layer in _layers(model, TowerConv2D) if layer.form == "auto"]


def _applies(model) -> dict:
    """{form: whether the model as chosen takes it in its compute precision}."""
    dtype = lambda layer: tf.as_dtype(layer.compute_dtype)  # noqa: E731
    return {
        "conv1_space_to_depth": any(c.uses_space_to_depth(dtype(c)) for c in _conv1(model)),
        "lrn_xla": any(n.uses_fused() for n in _layers(model, LocalResponseNorm)),
        "dense_transposed_input_grad": any(
            d.uses_transposed_input_grad(dtype(d)) for d in _layers(model, TowerDense)
        ),
        "preprocess_xla": any(p.uses_fused() for p in _layers(model, ImagePreprocess)),
        "update_xla": any(model.optimizer.takes_fused_update(v) for v in model.trainable_variables),
    }


def set_plain(model, form: str) -> None:
    """Set `form` back to TF's plain ops in `model`, whose train function is not traced
    yet (the forms are read when it is)."""
    if form == "conv1_space_to_depth":
        for layer in _conv1(model):
            layer.form = "direct"
    elif form == "lrn_xla":
        for layer in _layers(model, LocalResponseNorm):
            layer.fused_training = False
    elif form == "dense_transposed_input_grad":
        for layer in _layers(model, TowerDense):
            layer.form = "direct"
    elif form == "preprocess_xla":
        for layer in _layers(model, ImagePreprocess):
            layer.fused_training = False
    elif form == "update_xla":
        model.optimizer.fused = False
    else:
        raise ValueError(f"unknown form {form!r}; the forms: {', '.join(FORMS)}")


def bench_forms(bench):
    """`step.py forms`: images/s of the step as chosen, with each form plain, and with
    all of them plain, alternated step by step in one process."""
    probe = speed.compiled_model(bench)
    forms = [form for form, taken in _applies(probe).items() if taken]
    variants = {AS_CHOSEN: probe}
    for name in [*forms, ALL_PLAIN]:
        model = speed.compiled_model(bench)
        for form in forms if name == ALL_PLAIN else [name]:
            set_plain(model, form)
        variants[name] = model
    steps = {name: speed.synthetic_train_step(bench, model) for name, model in variants.items()}
    seconds = alternated_seconds(steps, bench.steps, bench.warmup_steps)
    rate = {name: bench.batch_size / s for name, s in seconds.items()}
    gain = {name: rate[AS_CHOSEN] / rate[name] for name in rate if name != AS_CHOSEN}
    result = {
        "images_per_sec": round(rate[AS_CHOSEN], 2),
        "forms_taken": forms,
        "variants_images_per_sec": {name: round(r, 2) for name, r in rate.items()},
        "gain_of_form": {name: round(g, 3) for name, g in gain.items() if name != ALL_PLAIN},
        "gain_over_all_plain": round(gain[ALL_PLAIN], 3),
    }
    lines = ["| the step | images/s (median) | as chosen / this |", "|---|---|---|"]
    for name, r in rate.items():
        label = name if name in (AS_CHOSEN, ALL_PLAIN) else f"{name} plain"
        ratio = "" if name == AS_CHOSEN else f"{gain[name]:.3f}x"
        lines.append(f"| {label} | {r:.1f} | {ratio} |")
    summary = (
        f"{rate[AS_CHOSEN]:.1f} images/s as chosen, {gain[ALL_PLAIN]:.3f}x all plain "
        f"({bench.steps} rounds of one step each)\n\n" + "\n".join(lines) + "\n"
    )
    return result, summary
