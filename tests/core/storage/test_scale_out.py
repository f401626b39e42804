"""The scale-out deployment end to end through the library: PostgreSQL index + S3 storage."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from slicebox_core import NotFound, Slicebox
from slicebox_core.models.query import ListQuery
from tests.factories import dicom_bytes

pytestmark = pytest.mark.integration


@pytest.fixture
def sb_scale_out(tmp_path: Path, pg_url: str, moto_url: str) -> Iterator[Slicebox]:
    box = Slicebox.open(
        tmp_path / "data",
        database_url=pg_url,
        storage={
            "kind": "s3",
            "bucket": f"b-{uuid.uuid4().hex[:12]}",
            "endpoint_url": moto_url,
            "create_bucket": True,
        },
    )
    try:
        yield box
    finally:
        box.close()


def test_ingest_read_and_delete_on_postgresql_and_s3(sb_scale_out: Slicebox) -> None:
    sb = sb_scale_out
    data = dicom_bytes(patient_name="Scale^Out", patient_id="S3PG", rows=64, columns=64)

    result = sb.images.add(data)

    assert not result.overwrite
    assert sb.storage.local_path(next(iter(sb.storage.keys()))) is None  # really on S3
    assert len(list(sb.storage.keys())) == 1
    assert sb.images.read_bytes(result.image.id) == data
    assert sb.images.size(result.image.id) == len(data)
    assert b"".join(sb.images.iter_bytes(result.image.id, chunk_size=1000)) == data
    patients = sb.index.patients(ListQuery())
    assert [(p.patient_name, p.patient_id) for p in patients] == [("Scale^Out", "S3PG")]

    again = sb.images.add(data)

    assert again.overwrite
    assert again.image.id == result.image.id
    assert len(list(sb.storage.keys())) == 1

    sb.images.delete(result.image.id)

    assert list(sb.storage.keys()) == []
    assert sb.index.patients(ListQuery()) == []
    with pytest.raises(NotFound):
        sb.images.read_bytes(result.image.id)
