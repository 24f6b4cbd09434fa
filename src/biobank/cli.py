"""The ``biobank`` console script: every management command, with the project's settings.

``biobank --help`` (or ``biobank`` alone) lists the project's own commands with one line each;
``biobank help`` shows Django's full list.
"""

from __future__ import annotations

import os
import sys


def _project_commands() -> list[tuple[str, str]]:
    from django.core.management import get_commands, load_command_class

    rows = []
    for name, app in sorted(get_commands().items()):
        if not app.startswith("biobank"):
            continue
        command = load_command_class(app, name)
        first_line = (command.help or "").strip().splitlines()[0] if command.help else ""
        rows.append((name, first_line))
    return rows


def print_help() -> None:
    import django

    django.setup()
    print("usage: biobank COMMAND [options]\n")
    print("The project's own commands:")
    rows = _project_commands()
    width = max((len(name) for name, _ in rows), default=10)
    for name, line in rows:
        print(f"  {name.ljust(width)}  {line}")
    print(
        "\nEvery Django management command works too (migrate, createsuperuser, runserver, "
        "check, shell, ...):\n  biobank help          lists them all\n"
        "  biobank COMMAND -h    explains one"
    )


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "biobank.settings")
    args = list(sys.argv if argv is None else argv)
    if len(args) < 2 or args[1] in {"--help", "-h"}:
        print_help()
        return
    from django.core.management import execute_from_command_line

    execute_from_command_line(args)


if __name__ == "__main__":
    main()
