"""The ``wise-al`` command: human-readable by default, ``--json`` for scripts.

Errors print one line on stderr and exit with a non-zero code: 1 for a refused operation,
2 for a usage mistake, 130 when interrupted.
"""

from __future__ import annotations

import sys
import warnings

import typer
from alembic.util import CommandError as AlembicCommandError
from sqlalchemy.exc import SQLAlchemyError

from wise_al.cli import (
    admin,
    campaigns,
    cutoff,
    datasets,
    demo,
    embedded,
    explore,
    label,
    md,
    models,
    observe,
    reference_md,
    studies,
    validate,
)
from wise_al.cli.output import print_error
from wise_al.errors import WiseAlError

app = typer.Typer(
    name="wise-al",
    help="Active learning of MACE potentials for water-in-salt electrolytes.",
    pretty_exceptions_enable=False,
    add_completion=False,
)
admin.register(app)
campaigns.register(app)
cutoff.register(app)
datasets.register(app)
demo.register(app)
embedded.register(app)
explore.register(app)
label.register(app)
md.register(app)
models.register(app)
observe.register(app)
reference_md.register(app)
studies.register(app)
validate.register(app)


@app.callback(invoke_without_command=True)
def _root(ctx: typer.Context) -> None:
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``wise-al`` script."""
    # the ML stack warns about its own torch usage on import and load: not the user's business,
    # and stderr carries our one-line errors
    warnings.filterwarnings("ignore", module=r"(e3nn|mace|torch|torch_geometric)(\.|$)")
    try:
        code = app(args=argv, standalone_mode=False)
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.Abort:
        print_error("aborted")
        code = 130
    except typer.TyperException as exc:  # usage errors: bad option, bad value, missing argument
        print_error(f"{exc.format_message()} (see --help)")
        code = exc.exit_code
    except WiseAlError as exc:
        print_error(str(exc))
        code = 1
    except SQLAlchemyError as exc:
        # the driver's own first line, never SQLAlchemy's text (it echoes SQL parameters)
        reason = str(getattr(exc, "orig", None) or type(exc).__name__).splitlines()[0]
        print_error(f"database error: {reason}")
        code = 1
    except AlembicCommandError as exc:
        print_error(f"migration error: {exc}")
        code = 1
    except OSError as exc:  # e.g. an unwritable -o path: the file and the reason, no traceback
        where = f"{exc.filename}: " if exc.filename else ""
        print_error(f"{where}{exc.strerror or exc}")
        code = 1
    except KeyboardInterrupt:
        code = 130
    sys.exit(code if isinstance(code, int) else 0)
