"""``python -m taiyi.train --config ...`` — the entry point for ``accelerate launch -m taiyi.train`` / torchrun.

Why: launchers start one Python process per GPU; this runs exactly ``taiyi train`` in each of them.
"""

from __future__ import annotations

import typer

from taiyi.train.cli import train_command


def main() -> None:
    app = typer.Typer(add_completion=False, pretty_exceptions_show_locals=False)
    app.command()(train_command)
    app()


if __name__ == "__main__":
    main()
