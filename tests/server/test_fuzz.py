"""Property-based: requests generated from our own OpenAPI document never cause a 500.

schemathesis reads ``/api/openapi.json`` from the in-process app and sends generated
requests (valid and invalid) to every operation, authenticated as the superuser.
"""

from __future__ import annotations

import falcon
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate

from slicebox_core import Slicebox
from slicebox_server import create_app

from ..factories import dicom_bytes
from .auth_headers import ADMIN

pytestmark = pytest.mark.slow


@pytest.fixture
def fuzzed_app(box: Slicebox) -> falcon.App:
    box.images.add(dicom_bytes())  # something to find
    return create_app(box)


@pytest.fixture
def api_schema(fuzzed_app: falcon.App) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_wsgi("/api/openapi.json", fuzzed_app)


def test_document_is_valid_openapi(fuzzed_app: falcon.App) -> None:
    document = falcon.testing.TestClient(fuzzed_app).simulate_get("/api/openapi.json").json
    validate(document)


lazy = schemathesis.pytest.from_fixture("api_schema")


@lazy.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_errors(case: schemathesis.Case) -> None:
    response = case.call(headers=ADMIN)
    assert response.status_code < 500, (case.method, case.path, response.text)
