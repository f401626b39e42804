"""Importing the client stays light: no SQLAlchemy, pynetdicom, falcon or gunicorn."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("sqlalchemy", "pynetdicom", "falcon", "gunicorn", "alembic", "boto3")


def test_import_slicebox_client_loads_no_server_or_database_code() -> None:
    code = (
        "import json, sys\n"
        "import slicebox_client\n"
        "from slicebox_client import SliceboxClient\n"
        "SliceboxClient('http://127.0.0.1:1').close()\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
