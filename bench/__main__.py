"""Run the benchmarks: ``make bench`` (or ``python -m bench``).

Each benchmark prints its rate next to the physical limit measured in the same run, and the
ratio between them. Run against PostgreSQL by setting ``DATABASE_URL`` (for example through
``scripts/with-postgres.sh``); otherwise a fresh SQLite database in a temporary directory.
"""

from __future__ import annotations

import os
import sys
import tempfile


def main() -> int:
    os.environ.setdefault("BIOBANK_DATA_DIR", tempfile.mkdtemp(prefix="biobank-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "biobank.settings")
    os.environ.setdefault("BIOBANK_DEBUG", "false")  # no per-query debug logging
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from bench import audit_chain, specimen_search

    audit_chain.run(count=int(os.environ.get("BENCH_COUNT", "5000")))
    specimen_search.run(count=int(os.environ.get("BENCH_SPECIMENS", "1000000")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
