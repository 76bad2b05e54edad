"""A SavedModel run the way TF Serving runs it.

TF Serving's C++ loader (`LoadSavedModel`) imports the MetaGraph into a session, runs its
saver's restore op and its init op, then feeds and fetches each signature by the tensor
names in its SignatureDef; when it loads a version it first replays the requests in
`assets.extra/tf_serving_warmup_requests`. `SessionModel` does the same through
`tf.compat.v1.saved_model.loader.load`, its Python face (also what `saved_model_cli run`
uses). TF2's `tf.saved_model.load` restores variables through the object graph instead,
so a SavedModel can pass it and still fail in the server: `export` checks every version
here before it is put in place, and `benchmark serve` times both loaders.
"""

from __future__ import annotations

import contextlib
import logging

import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2

SERVE_TAG = "serve"  # tf.saved_model.SERVING: the tag TF Serving loads
DEFAULT_SIGNATURE = "serving_default"  # what a request without a signature name runs
INIT_OP_KEY = "__saved_model_init_op"


@contextlib.contextmanager
def _quiet_tensorflow_log():
    """TF logs that the v1 loader is deprecated in favour of tf.saved_model.load, which is
    the loader this module exists not to use; that warning would only mislead a reader."""
    logger = logging.getLogger("tensorflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


class SessionModel:
    """One SavedModel loaded into a TF1 session of its own; `run` one signature by its
    SignatureDef's tensor names, `replay_warmup` the version's warm-up records."""

    def __init__(self, export_dir: str, tags=(SERVE_TAG,)):
        self.export_dir = export_dir
        self.graph = tf.Graph()
        self.session = tf.compat.v1.Session(graph=self.graph)
        try:
            with self.graph.as_default(), _quiet_tensorflow_log():
                meta = tf.compat.v1.saved_model.loader.load(self.session, list(tags), export_dir)
        except BaseException:
            self.session.close()
            raise
        # The init op's entry is the loader's, not a signature a client can call.
        self.signatures = {k: v for k, v in meta.signature_def.items() if k != INIT_OP_KEY}

    def signature(self, name: str):
        if name not in self.signatures:
            raise KeyError(
                f"{self.export_dir} has no signature {name!r}; it has "
                f"{', '.join(sorted(self.signatures))}."
            )
        return self.signatures[name]

    def run(self, name: str, inputs: dict, outputs=None) -> dict:
        """Feed `inputs` (alias -> array) to signature `name` and fetch `outputs` (aliases;
        default: all of them) -> {alias: numpy array}. A bad request raises the op's error
        (InvalidArgumentError for a bad image), as the server answers it."""
        sig = self.signature(name)
        if set(inputs) != set(sig.inputs):
            raise ValueError(
                f"Signature {name!r} takes inputs {sorted(sig.inputs)}. Received: {sorted(inputs)}"
            )
        wanted = list(outputs) if outputs else list(sig.outputs)
        unknown = [k for k in wanted if k not in sig.outputs]
        if unknown:
            raise ValueError(
                f"Signature {name!r} has outputs {sorted(sig.outputs)}. Received: {unknown}"
            )
        feed = {sig.inputs[k].name: v for k, v in inputs.items()}
        return self.session.run({k: sig.outputs[k].name for k in wanted}, feed)

    def replay_warmup(self, path: str) -> list[dict]:
        """Run every PredictionLog request in a warm-up file as TF Serving does on load:
        its signature (default `serving_default`), inputs by alias, its output filter.
        Returns each request's outputs, in order; the first failing one raises."""
        answers = []
        for record in tf.data.TFRecordDataset(path):
            log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
            kind = log.WhichOneof("log_type")
            if kind != "predict_log":
                raise ValueError(
                    f"{path}: record {len(answers)} is a {kind}; only predict_log is run."
                )
            request = log.predict_log.request
            inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
            name = request.model_spec.signature_name or DEFAULT_SIGNATURE
            answers.append(self.run(name, inputs, list(request.output_filter) or None))
        return answers

    def close(self) -> None:
        self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
