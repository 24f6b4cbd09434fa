"""Run the benchmarks: ``make bench`` (or ``python -m bench``).

Each benchmark prints its rate next to the physical limit measured in the same run, and the
ratio between them. Run against PostgreSQL by setting ``DATABASE_URL`` (for example through
``scripts/with-postgres.sh``); otherwise a fresh SQLite database in a temporary directory.

``BENCH_SPECIMENS`` (default 1,000,000) is the number of specimens generated and imported, then
searched; ``BENCH_COUNT`` (default 5,000) the audit events appended; ``BENCH_API_COUNT`` (default
1,000) the specimens created and placed through the HTTP API; ``BENCH_PROFILE=1`` adds a
cProfile of those API calls. ``BENCH_ONLY`` runs a comma-separated subset of ``audit``,
``import``, ``search`` and ``api``.
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
    from bench import api_rate, audit_chain, import_specimens, specimen_search

    only = {part.strip() for part in os.environ.get("BENCH_ONLY", "").split(",") if part.strip()}
    specimens = int(os.environ.get("BENCH_SPECIMENS", "1000000"))
    if not only or "audit" in only:
        audit_chain.run(count=int(os.environ.get("BENCH_COUNT", "5000")))
    imported = None
    if not only or "import" in only:
        imported = import_specimens.run(count=specimens)
    if not only or "search" in only:
        boxes = (
            {n: b for n, b in imported.dataset.full_boxes.items() if n >= 100} if imported else None
        )
        specimen_search.run(count=specimens, boxes=boxes)
    if not only or "api" in only:
        api_rate.run(count=int(os.environ.get("BENCH_API_COUNT", "1000")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
