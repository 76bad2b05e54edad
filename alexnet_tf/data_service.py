"""Run a tf.data service dispatcher or worker for training input on other machines.

    python -m alexnet_tf.data_service --port=5050                          # the dispatcher
    python -m alexnet_tf.data_service --dispatcher=HOST:5050 --port=5051   # a worker
    python -m alexnet_tf.train --flagfile=... --data_service=HOST:5050     # a trainer

Runs until stopped (Ctrl-C, SIGTERM). A worker must be able to read the shards' paths the
trainer names. The library is `alexnet_tf.data.service`, which says how an epoch's images
are handed out and what a lost worker costs.
"""

from __future__ import annotations

import signal
import threading

from absl import flags

from alexnet_tf.core import cli

FLAGS = flags.FLAGS


def define_flags() -> None:
    """The data_service command's flags (defined when it runs: importing defines none)."""
    flags.DEFINE_integer("port", 5050, "Port to serve on (0: any free port, printed).")
    flags.DEFINE_string(
        "dispatcher", None, "HOST:PORT of the dispatcher: run a worker (else a dispatcher)."
    )
    flags.DEFINE_string(
        "worker_host", "localhost", "Worker: the host name trainers reach this worker by."
    )
    flags.DEFINE_string(
        "work_dir",
        None,
        "Dispatcher: journal its state here, so that a restarted dispatcher resumes the job.",
    )


def main(argv):
    cli.no_arguments(argv)
    if not 0 <= FLAGS.port < 65536:
        cli.usage_error(f"--port must be in 0..65535. Received: {FLAGS.port}")
    from alexnet_tf.data import service

    try:
        if FLAGS.dispatcher:
            service.check_reachable(FLAGS.dispatcher, "dispatcher")
    except service.ServiceError as e:
        cli.usage_error(str(e))
    if FLAGS.dispatcher:
        server = service.start_worker(FLAGS.dispatcher, FLAGS.port, FLAGS.worker_host)
        role = f"worker of {FLAGS.dispatcher}"
    else:
        server = service.start_dispatcher(FLAGS.port, FLAGS.work_dir)
        role = "dispatcher"
    # The bound address: a dispatcher's `target`; a worker's is not public API.
    address = getattr(server, "target", None) or getattr(server, "_address", str(FLAGS.port))
    print(f"tf.data service {role} serving on port {address.rpartition(':')[2]}", flush=True)
    # Wait in Python, not in server.join(): a signal reaches Python only between calls.
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass
    server.stop()


def run() -> None:
    """The `alexnet-data-service` command."""
    cli.run(main, "data_service", define_flags)


if __name__ == "__main__":
    run()
