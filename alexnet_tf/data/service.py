"""The training input pipeline on other machines, through TensorFlow's tf.data service.

A dispatcher hands out work, workers run the pipeline (read, decode, crop, flip,
shuffle, batch) and the trainer only receives batches:

    python -m alexnet_tf.data_service --port=5050                         # dispatcher
    python -m alexnet_tf.data_service --dispatcher=HOST:5050 --port=5051  # each worker
    python -m alexnet_tf.train ... --data_service=HOST:5050

Processing mode: "distributed_epoch" (`ShardingPolicy.DYNAMIC`). The dispatcher hands out
the shard files one at a time, to whichever worker asks next, so a fast worker reads
more and a slow one does not hold the others back. In each pass over the files each
record is produced at most once, and exactly once while no worker is lost; each worker
drops its own last incomplete batch, at most batch_size - 1 records a pass. A worker
that dies loses the rest of the file it was reading and the batches it held for that
pass: training goes on with the workers left, and those records come back in the next
pass. Every worker must be able to read the shard paths the trainer gives (a shared
file system or object store).

Validation stays on the trainer. The pipeline's options and `--skip_bad_records`' list
of records to leave out travel with the dataset's graph to the workers. Addresses are
checked without TensorFlow: the train command's flag checks run before it starts.
"""

from __future__ import annotations

import os
import socket

PROCESSING_MODE = "distributed_epoch"
JOB_NAME = "alexnet_tf_train"


def job_name(model_dir: str) -> str:
    """The service job of the run in `model_dir`: the trainers of one multi-worker run
    share it (each batch goes to one of them), a rerun picks it up again, and runs in
    other model dirs, sharing a dispatcher, get jobs of their own."""
    import hashlib

    digest = hashlib.sha1(os.path.abspath(model_dir).encode()).hexdigest()[:12]
    return f"{JOB_NAME}_{digest}"


class ServiceError(ValueError):
    """A --data_service address that is malformed or answers nothing."""


def parse_address(address: str, flag: str = "data_service") -> tuple[str, int]:
    """HOST:PORT -> (host, port); ServiceError naming the flag otherwise."""
    host, _, port = (address or "").removeprefix("grpc://").rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ServiceError(
            f"--{flag} must be HOST:PORT with a port in 1..65535 (e.g. localhost:5050). "
            f"Received: --{flag}={address}"
        )
    return host, int(port)


def check_reachable(address: str, flag: str = "data_service", timeout: float = 5.0) -> None:
    """ServiceError unless something listens at `address` (a TCP connect within
    `timeout` s): without a dispatcher, tf.data's client would wait for one forever."""
    host, port = parse_address(address, flag)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as e:
        raise ServiceError(
            f"nothing answers at --{flag}={address} ({e.strerror or e}). Start a "
            f"dispatcher there (python -m alexnet_tf.data_service --port={port}) and at "
            "least one worker."
        ) from None


def distribute(dataset, address: str, job_name: str = JOB_NAME):
    """`dataset` (batched) produced by the service's workers, in PROCESSING_MODE (the
    caller chooses how many batches the trainer keeps in flight)."""
    import tensorflow as tf

    parse_address(address)
    service = tf.data.experimental.service
    distributed = dataset.apply(
        service.distribute(
            processing_mode=service.ShardingPolicy.DYNAMIC,
            service=f"grpc://{address.removeprefix('grpc://')}",
            job_name=job_name,
        )
    )
    return distributed


def start_dispatcher(port: int, work_dir: str | None = None):
    """A dispatcher on `port` (0: any free port; `.target` names it). With `work_dir`
    it journals its state there and a restarted dispatcher picks the job up again."""
    import tensorflow as tf

    service = tf.data.experimental.service
    config = service.DispatcherConfig(
        port=port, work_dir=work_dir, fault_tolerant_mode=bool(work_dir)
    )
    return service.DispatchServer(config)


def start_worker(dispatcher: str, port: int = 0, host: str = "localhost"):
    """A worker on `port` (0: any free port) that registers with `dispatcher`
    (HOST:PORT); `host` is the name the trainers reach it by."""
    import tensorflow as tf

    parse_address(dispatcher, "dispatcher")
    service = tf.data.experimental.service
    config = service.WorkerConfig(
        dispatcher_address=dispatcher.removeprefix("grpc://"),
        worker_address=f"{host}:%port%",
        port=port,
    )
    return service.WorkerServer(config)
