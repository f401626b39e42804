"""The client side of boxes: light imports, and the send body built from what users pass."""

from __future__ import annotations

import json
import subprocess
import sys

from slicebox_client.boxes import bulk_anonymization_data
from slicebox_core import wire
from slicebox_core.models.anonymization import AnonymizationProfile, TagValue
from slicebox_core.models.dicom import TagPath

HEAVY = ("sqlalchemy", "pynetdicom", "falcon", "gunicorn", "alembic", "boto3", "pydicom")


def test_box_modules_stay_light() -> None:
    code = (
        "import json, sys\n"
        "from slicebox_client.boxes import BoxesMixin\n"
        "from slicebox_client.peer import HttpBoxPeer\n"
        "HttpBoxPeer('http://127.0.0.1:1/api/transactions/x').close()\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_send_bodies() -> None:
    name = TagValue(TagPath.of(0x00100010), "anon 001")
    body = wire.unstructure(bulk_anonymization_data({7: [name]}, AnonymizationProfile.basic()))
    assert body["imageTagValuesSet"] == [
        {"imageId": 7, "tagValues": [{"tagPath": {"tag": 0x00100010, "name": "PatientName"},
                                      "value": "anon 001"}]}
    ]  # fmt: skip
    assert [o["name"] for o in body["profile"]["options"]] == ["BASIC_PROFILE"]
    plain = wire.unstructure(bulk_anonymization_data([1, 2]))
    assert plain == {
        "profile": {"options": []},
        "imageTagValuesSet": [{"imageId": 1, "tagValues": []}, {"imageId": 2, "tagValues": []}],
    }
