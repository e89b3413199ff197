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
def _root() -> None:
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


def main() -> None:
    app()


if __name__ == "__main__":
    main()
