"""jobprobe's command line: submit jobs, read their history, details and statistics.

Every command takes ``--json``. Errors are one line on stderr and a non-zero exit.
Run ``jobprobe --help`` (or ``python cli.py --help`` from a checkout).

This module is the entry point only: the commands live in ``jobprobe.commands``, one module
per group, and a command's module is imported when that command runs (click's lazy group), so
reading a job's history does not import what submitting one needs.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

import click

from jobprobe import __version__
from jobprobe.commands import COMMANDS
from jobprobe.commands.context import Invocation


class LazyGroup(click.Group):
    """A group whose commands are imported on first use from ``name -> "module:attribute"``."""

    def __init__(self, *args: Any, lazy_commands: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands)

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command name, the lazy ones included, sorted."""
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command ``cmd_name``, importing its module if it is a lazy one."""
        target = self.lazy_commands.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module, _, attribute = target.partition(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        return command

    def main(  # type: ignore[override]
        self, args: Sequence[str] | None = None, prog_name: str | None = None, **extra: Any
    ) -> NoReturn:
        """Run, then exit: click's own usage errors are one line and exit 2 like ours, and an
        interrupt (a second Ctrl-C included) exits 130 without click's ``Aborted!``."""
        extra.pop("standalone_mode", None)
        try:
            result = super().main(args, prog_name, standalone_mode=False, **extra)
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            click.echo(f"error: {exc.format_message()}{hint}", err=True)
            sys.exit(2)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except (click.Abort, KeyboardInterrupt):
            sys.exit(130)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        sys.exit(result if isinstance(result, int) else 0)


@click.group(
    cls=LazyGroup, lazy_commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(__version__, prog_name="jobprobe")
@click.pass_context
def main(ctx: click.Context) -> None:
    """jobprobe: run simulation and benchmark jobs on Celery workers, profiled every 0.5 s.

    With JOBPROBE_BROKER_URL unset, jobs run in this process and the store is SQLite
    under JOBPROBE_DATA_DIR. Set JOBPROBE_BROKER_URL and JOBPROBE_DATABASE_URL to use workers.
    """
    ctx.ensure_object(Invocation)


if __name__ == "__main__":
    main()
