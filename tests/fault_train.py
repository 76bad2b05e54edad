"""`python -m alexnet_tf.train` with one injected fault: the process kills itself (SIGKILL,
as the OOM killer or a pre-empted machine would) at a chosen moment.

    python tests/fault_train.py FAULT -- TRAIN_FLAGS...

FAULT is one of
    after_step:N     right after optimizer step N (mid-epoch)
    backup_temp:N    while TensorFlow writes the backup of step N (its ckpt-N_temp
                     directory exists, part-written)
    backup_write:N   after the backup of step N is written but before the checkpoint index
                     lists it, with its data file torn
    model_write:E    while latest.keras is written after epoch E (0-based): a half-written
                     temporary file is left behind
    history_write:E  while history.json is written after epoch E, likewise
    validation:E     in the middle of epoch E's validation pass

or, instead of a kill, a full disk:
    fill_disk:E      just before latest.keras is written after epoch E, a file beside
                     the model dir takes all but 64 KB of its device's free space
"""

import glob
import os
import signal
import sys


def die():
    sys.stdout.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def tear(path):
    """Leave `path` half written, as a kill during its write would."""
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(size // 2)


def at_latest_keras_write(target_epoch: int, action):
    """Instead of writing latest.keras after epoch `target_epoch` (0-based), call
    action(model, path, save)."""
    from alexnet_tf.training import callbacks

    state = {"epoch": -1}
    original_end = callbacks.ModelFiles.on_epoch_end
    original_save = callbacks.save_model_atomically

    def on_epoch_end(self, epoch, logs=None):
        state["epoch"] = epoch
        return original_end(self, epoch, logs)

    def save(model, path):
        if state["epoch"] == target_epoch and path.endswith("latest.keras"):
            return action(model, path, original_save)
        return original_save(model, path)

    callbacks.ModelFiles.on_epoch_end = on_epoch_end
    callbacks.save_model_atomically = save


def install(kind: str, n: int):
    from alexnet_tf.core import files
    from alexnet_tf.training import callbacks

    if kind == "after_step":
        original = callbacks.StepBackup.on_train_batch_end

        def on_train_batch_end(self, batch, logs=None):
            original(self, batch, logs)
            if callbacks.optimizer_step(self.model) == n:
                die()

        callbacks.StepBackup.on_train_batch_end = on_train_batch_end
    elif kind == "backup_temp":
        import threading
        import time

        original_save = callbacks.StepBackup.save

        def save(self):
            if callbacks.optimizer_step(self.model) == n:
                temp = os.path.join(self.directory, f"ckpt-{n}_temp")

                def watch():
                    while not os.path.isdir(temp):
                        time.sleep(0.0005)
                    die()

                threading.Thread(target=watch, daemon=True).start()
            return original_save(self)

        callbacks.StepBackup.save = save
    elif kind == "backup_write":
        from tensorflow.python.checkpoint import checkpoint_management as cm

        original_update = cm.update_checkpoint_state_internal

        def update(save_dir, model_checkpoint_path, *args, **kwargs):
            if model_checkpoint_path.endswith(f"ckpt-{n}"):
                for data in glob.glob(model_checkpoint_path + ".data-*"):
                    tear(data)
                die()
            return original_update(save_dir, model_checkpoint_path, *args, **kwargs)

        cm.update_checkpoint_state_internal = update
    elif kind == "model_write":

        def tear_and_die(model, path, original_save):
            tmp = files.temporary_name(path)
            model.save(tmp)
            tear(tmp)
            die()

        at_latest_keras_write(n, tear_and_die)
    elif kind == "history_write":
        original_write = files.atomic_write_bytes

        def write(path, data):
            if path.endswith("history.json") and f'"epoch": {n},' in data.decode():
                tmp = files.temporary_name(path)
                with open(tmp, "wb") as f:
                    f.write(data[: len(data) // 2])
                die()
            return original_write(path, data)

        files.atomic_write_bytes = write
    elif kind == "validation":
        state = {"epoch": -1}

        def on_epoch_begin(self, epoch, logs=None):
            state["epoch"] = epoch

        def on_test_batch_end(self, batch, logs=None):
            if state["epoch"] == n and batch == 0:
                die()

        callbacks.StepBackup.on_epoch_begin = on_epoch_begin
        callbacks.StepBackup.on_test_batch_end = on_test_batch_end
    elif kind == "fill_disk":

        def fill_then_save(model, path, original_save):
            model_dir = os.path.dirname(path)
            stat = os.statvfs(model_dir)
            free = stat.f_bavail * stat.f_frsize
            with open(os.path.join(os.path.dirname(model_dir), "filler"), "wb") as f:
                os.posix_fallocate(f.fileno(), 0, free - 64 * 1024)
            original_save(model, path)

        at_latest_keras_write(n, fill_then_save)
    else:
        raise SystemExit(f"fault_train: unknown fault {kind}")


def main():
    fault, sep, *train_flags = sys.argv[1:]
    assert sep == "--", __doc__
    kind, n = fault.split(":")
    install(kind, int(n))
    import logging

    from alexnet_tf import train
    from alexnet_tf.core import cli

    logging.getLogger().setLevel(logging.INFO)
    sys.argv = ["train", *train_flags]
    cli.run(train.main, "train", train.define_flags)


if __name__ == "__main__":
    main()
