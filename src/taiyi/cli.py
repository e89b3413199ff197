"""The ``taiyi`` command line. Each stage registers its own commands from its ``cli`` module.

Heavy libraries (torch, transformers) are imported inside command bodies so ``taiyi --help`` is instant.
"""

from __future__ import annotations

import importlib
import os

import typer

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

app = typer.Typer(
    name="taiyi",
    help=(
        "Taiyi: build, train, serve and evaluate bilingual biomedical LLMs.\n\n"
        "Pipeline: taiyi convert -> taiyi build -> taiyi train -> taiyi chat/serve -> taiyi eval.\n\n"
        "Example: taiyi convert --all --input-root ../shared/datasets --out corpus/"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)

@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show the full Python traceback of an error (also accepted "
                               "after the command name, or as TAIYI_DEBUG=1)."),
) -> None:
    """Taiyi command line (see ``taiyi COMMAND --help``)."""


# Stage modules, in pipeline order. Each defines ``register(app: typer.Typer) -> None``.
STAGE_CLI_MODULES = (
    "taiyi.sources.cli",
    "taiyi.instructions.cli",
    "taiyi.train.cli",
    "taiyi.infer.cli",
    "taiyi.evaluate.cli",
    "taiyi.doctor",
    "taiyi.demo",
)

for _name in STAGE_CLI_MODULES:
    importlib.import_module(_name).register(app)


@app.command("version")
def version() -> None:
    """Print the Taiyi version. Example: taiyi version"""
    from taiyi import __version__

    typer.echo(__version__)


def error_line(exc: BaseException) -> str:
    """One line for a user: what went wrong, without the traceback (``--debug`` shows it)."""
    from taiyi.files import DataError

    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, (DataError, ValueError, FileNotFoundError, NotADirectoryError, IsADirectoryError,
                        PermissionError)) or type(exc).__name__ in ("EngineError", "ConnectError"):
        return f"error: {text}"
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return f"error: connection failed: {text}"
    return f"error: {type(exc).__name__}: {text} (an unexpected error; run again with --debug for the traceback)"


def main(argv: list[str] | None = None) -> None:
    """The ``taiyi`` entry point: one error-handling path for every command.

    Why: a user error must read as one line naming what is wrong and exit non-zero, never as a Python
    traceback; developers get the traceback with ``--debug`` (anywhere on the line) or ``TAIYI_DEBUG=1``.
    Usage errors (bad option values, missing files checked by the option) are one line too, ending with where
    to look. Exit codes: 2 for a usage error (click's rule), 130 for Ctrl-C, 1 for every other error.
    """
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("TAIYI_DEBUG", "") not in ("", "0")
    if "--debug" in args:
        args = ["--debug"] + [a for a in args if a != "--debug"]  # a root option, wherever it was typed
    # typer vendors its own click: take its exception base from a public class rather than a private module
    click_error = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
    try:
        rv = app(args=args, prog_name="taiyi", standalone_mode=False)
    except SystemExit:
        raise
    except click_error as exc:  # a usage error: one line, and where to look (exit 2)
        if type(exc).__name__ != "NoArgsIsHelpError":  # that one has printed the help already
            ctx = getattr(exc, "ctx", None)
            hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
            print(f"error: {' '.join(exc.format_message().split())}{hint}", file=sys.stderr)
        raise SystemExit(exc.exit_code) from None
    except typer.Abort:
        print("aborted", file=sys.stderr)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    except Exception as exc:
        if debug:
            raise
        print(error_line(exc), file=sys.stderr)
        raise SystemExit(1) from None
    raise SystemExit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":
    main()
