"""The edge every program shares: absl flags parsed, and a usage error (a bad flag, a
missing argument) is one line `PROG: error: ...` and exit status 2, before any expensive
work. A run that fails for a reason it can explain exits 1 (`fail`). Flags are read only
in the programs' `main()`; everything below takes plain arguments.

    def main(argv):
        cli.no_arguments(argv)
        ...

    def run():  # the installed command, alexnet-evaluate
        cli.run(main, "evaluate", define_flags)
"""

from __future__ import annotations

import logging
import os
import sys
from typing import NoReturn

from absl import app, flags

_prog = {"name": os.path.basename(sys.argv[0]) or "alexnet_tf"}


def usage_error(message: str) -> NoReturn:
    """A bad command line: the message names the flag and what it accepts. Exit 2."""
    print(f"{_prog['name']}: error: {message}", file=sys.stderr)
    sys.exit(2)


def fail(message: str, kind: str = "error") -> NoReturn:
    """A run that stopped for a reason the message explains. Exit 1."""
    print(f"{_prog['name']}: {kind}: {message}", file=sys.stderr)
    sys.exit(1)


def no_arguments(argv) -> None:
    if len(argv) > 1:
        usage_error(f"unexpected arguments: {' '.join(argv[1:])}")


def require(*names: str) -> None:
    for name in names:
        if flags.FLAGS[name].value in (None, ""):
            usage_error(f"--{name} is required.")


def define_precision_flag(
    help: str | None = None, default: str = "auto", choices=None, flag_values=flags.FLAGS
) -> None:
    """--mixed_precision, as every command that computes offers it: one of `choices`
    (default: every policy `alexnet_tf.core.precision` knows, "auto" among them)."""
    from alexnet_tf.core.precision import PRECISIONS

    flags.DEFINE_enum(
        "mixed_precision",
        default,
        list(choices or PRECISIONS),
        help
        or "auto: bfloat16 where this machine computes it in hardware, else float32 "
        "(docs/performance.md); or a Keras policy.",
        flag_values=flag_values,
    )


def define_data_service_flag(flag_values=flags.FLAGS) -> None:
    """--data_service, as train and benchmark offer it."""
    flags.DEFINE_string(
        "data_service",
        "",
        "HOST:PORT of a tf.data service dispatcher (python -m alexnet_tf.data_service): the "
        "training input pipeline runs on its workers. Validation stays here.",
        flag_values=flag_values,
    )


def define_declared(fields, flag_values=flags.FLAGS) -> None:
    """One flag per dataclass field declared with `options.option`: its help, and its
    type from its default (a tuple default gives a comma-separated list). Values are
    checked by the declaration (`options.problem`), not by absl, so a flagfile read in a
    notebook refuses a bad value with the same message as the command line."""
    define = {
        bool: flags.DEFINE_boolean,
        int: flags.DEFINE_integer,
        float: flags.DEFINE_float,
        tuple: flags.DEFINE_list,
    }
    for field in fields:
        default = list(field.default) if isinstance(field.default, tuple) else field.default
        define.get(type(field.default), flags.DEFINE_string)(
            field.name, default, field.metadata["option"].help, flag_values=flag_values
        )


def resolve_precision():
    """The --mixed_precision flag resolved on this machine, logged once."""
    from alexnet_tf.core import precision

    choice = precision.resolve(flags.FLAGS.mixed_precision)
    logging.info("Precision: %s (%s)", choice.policy, choice.reason)
    return choice


def _parse_flags(argv):
    """absl's parser, with the usage-error status 2 (absl's own is 1)."""
    try:
        return flags.FLAGS(argv)
    except flags.Error as e:
        usage_error(f"{e}\nSee --helpfull for the flags.")


def set_program(prog: str) -> None:
    """The name errors are reported under (`run` sets it; argparse tools call this)."""
    _prog["name"] = prog


def run(main, prog: str, define_flags=None) -> None:
    """Define the program's flags (`define_flags()`), parse them and run `main(argv)` as
    program `prog`."""
    set_program(prog)
    if define_flags is not None:
        before = set(flags.FLAGS)
        define_flags()
        # --help lists the flags of the module run as the program (sys.argv[0]): the
        # installed command's script, not the module that defined them, so name them its.
        for name in sorted(set(flags.FLAGS) - before):
            flags.FLAGS.register_key_flag_for_module(sys.argv[0], flags.FLAGS[name])
    logging.getLogger().setLevel(logging.INFO)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")

    def guarded(argv):
        try:
            return main(argv)
        except app.UsageError as e:
            usage_error(str(e))

    app.run(guarded, flags_parser=_parse_flags)
