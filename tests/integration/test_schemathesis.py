"""schemathesis over the whole OpenAPI document, against a live ``slicebox serve``.

The document is fetched from the running server; every operation gets a bounded number of
generated requests, authenticated as the superuser. Each response must not be a 5xx and
must conform to the document: a documented status, content type, headers and body schema.
The only operation left out is the one that would stop the server under test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ..factories import dicom_bytes
from ..server.auth_headers import basic
from .live import PASSWORD, SUPERUSER, LiveServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MAX_EXAMPLES = 20
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
AUTH = basic(SUPERUSER, PASSWORD)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("schemathesis") / "data"
    env = {  # generated logins must not lock the tests' own client out
        "SLICEBOX_SESSIONS__MAX_FAILURES_PER_CLIENT": "0",
        "SLICEBOX_SESSIONS__MAX_FAILURES_PER_USER": "0",
    }
    server = LiveServer(data, workers=2, env=env)
    with server:
        with httpx.Client(base_url=server.url, auth=(SUPERUSER, PASSWORD)) as http:
            for i in range(3):  # something to find
                body = dicom_bytes(patient_id=f"ST{i}")
                headers = {"Content-Type": "application/octet-stream"}
                assert http.post("/api/images", content=body, headers=headers).status_code == 201
        yield server
    log = server.log_text()
    assert " raised " not in log, log[-5000:]  # no request failed with an unexpected error


@pytest.fixture(scope="module")
def live_schema(live: LiveServer) -> schemathesis.BaseSchema:
    schema = schemathesis.openapi.from_url(f"{live.url}/api/openapi.json")
    return schema.exclude(method="POST", path="/api/system/stop")


lazy = schemathesis.pytest.from_fixture("live_schema")


@lazy.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
)
def test_every_operation_conforms(case: schemathesis.Case, live: LiveServer) -> None:
    case.call_and_validate(base_url=live.url, headers=AUTH, checks=CHECKS, timeout=60)


def test_document_covers_the_served_routes(live_schema: schemathesis.BaseSchema) -> None:
    operations = list(live_schema.get_all_operations())
    assert len(operations) > 80
    print(f"\nschemathesis: {len(operations)} operations, up to {MAX_EXAMPLES} examples each")


def test_server_log_has_no_secrets(live: LiveServer, tmp_path: Path) -> None:
    assert PASSWORD not in live.log_text()
