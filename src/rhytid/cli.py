"""The ``rhytid`` command line (typer).

Thin edges: each command parses its input, calls one library function and formats the result.
A :class:`~rhytid.errors.RhytidError` becomes one line on stderr and exit status 2; anything
else is a bug and exits with status 1 (CONTRACTS.md).
"""

from __future__ import annotations

import sys

import typer

from rhytid.errors import RhytidError

app = typer.Typer(
    name="rhytid",
    help="Botulinum toxin treatment of facial wrinkles: model, planning and clinical rules.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register_commands() -> None:
    from rhytid import _cli_clinic, _cli_model, _cli_trial, _cli_web

    _cli_model.register(app)
    _cli_clinic.register(app)
    _cli_trial.register(app)
    _cli_web.register(app)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    _register_commands()
    try:
        result = app(args=argv, standalone_mode=False)
    except RhytidError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        print("aborted", file=sys.stderr)
        return 1
    except typer.TyperException as exc:
        print(f"error: {exc.format_message()}", file=sys.stderr)
        return 2 if exc.exit_code == 2 else exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: say so plainly, without a traceback
        print(f"internal error ({type(exc).__name__}): {exc}", file=sys.stderr)
        return 1
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
