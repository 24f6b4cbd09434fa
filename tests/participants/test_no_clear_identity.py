"""HB-01: after the demo is loaded, neither the database file nor the logs hold a participant's
name or national ID in clear text."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from biobank.participants.demo import PEOPLE, demo_national_id


def test_hb01_database_file_and_logs_hold_no_clear_identity(tmp_path: Path):
    env = {**os.environ, "BIOBANK_DATA_DIR": str(tmp_path), "BIOBANK_LOG_LEVEL": "DEBUG"}
    env.pop("DATABASE_URL", None)
    logs = []
    for command in (["migrate", "-v0"], ["demo"], ["audit", "verify"]):
        result = subprocess.run(
            [sys.executable, "-m", "biobank.cli", *command],
            env=env,
            capture_output=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr.decode()
        logs.append(result.stdout + result.stderr)
    database = b"".join(
        path.read_bytes() for path in tmp_path.iterdir() if path.name.startswith("biobank.sqlite3")
    )
    assert len(database) > 100_000
    code, name, _sex, birth, (letter, digit, serial) = PEOPLE[0]
    secrets_in_clear = [
        name.encode("utf-8"),
        demo_national_id(letter, digit, serial).encode(),
        birth.encode(),
    ]
    for secret in secrets_in_clear:
        assert secret not in database
        for log in logs:
            assert secret not in log
    # the code is everywhere, as it should be
    assert code.encode() in database
