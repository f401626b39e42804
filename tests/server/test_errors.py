"""The status table and the 500 handler."""

from __future__ import annotations

import logging

import falcon
import pytest
from falcon import testing

import slicebox_core.errors as core_errors
from slicebox_core import Slicebox
from slicebox_core.errors import SliceboxError, TooManyRequests
from slicebox_core.models import Role
from slicebox_server import create_app
from slicebox_server.errors import STATUS, status_of
from slicebox_server.resources.base import Resource

from .auth_headers import ADMIN


def all_error_classes() -> list[type[SliceboxError]]:
    return [
        cls
        for cls in vars(core_errors).values()
        if isinstance(cls, type) and issubclass(cls, SliceboxError) and cls is not SliceboxError
    ]


def test_every_core_error_has_a_status() -> None:
    mapped = {cls for cls, _ in STATUS}
    assert set(all_error_classes()) <= mapped
    assert status_of(core_errors.InvalidDicom("x")) == 400
    assert status_of(core_errors.NotRenderable("x")) == 501
    assert status_of(SliceboxError("x")) == 500


def test_table_is_most_specific_first() -> None:
    for i, (cls, _) in enumerate(STATUS):
        for earlier, _ in STATUS[:i]:
            assert not issubclass(cls, earlier), (cls, earlier)


class Raiser(Resource):
    roles = {"GET": Role.USER}
    error: BaseException = RuntimeError("Doe^John PID123 leaked")

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        raise self.error


@pytest.fixture
def raising(box: Slicebox) -> testing.TestClient:
    app = create_app(box)
    app.add_route("/api/test/raise", Raiser(box))
    return testing.TestClient(app)


@pytest.mark.parametrize(
    ("error", "status"),
    [(cls("message"), code) for cls, code in STATUS if cls is not TooManyRequests],
)
def test_core_errors_become_text_responses(
    raising: testing.TestClient, error: SliceboxError, status: int
) -> None:
    Raiser.error = error
    result = raising.simulate_get("/api/test/raise", headers=ADMIN)
    assert result.status_code == status
    assert result.headers["content-type"].startswith("text/plain")
    assert result.text == str(error)
    assert "WWW-Authenticate" not in result.headers


def test_too_many_requests_sets_retry_after(raising: testing.TestClient) -> None:
    Raiser.error = TooManyRequests("slow down", retry_after=7)
    result = raising.simulate_get("/api/test/raise", headers=ADMIN)
    assert result.status_code == 429
    assert result.headers["retry-after"] == "7"


def test_unexpected_error_is_500_with_request_id_and_no_data(
    raising: testing.TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    Raiser.error = RuntimeError("Doe^John PID123 leaked")
    with caplog.at_level(logging.ERROR, logger="slicebox.server"):
        result = raising.simulate_get("/api/test/raise", params={"filter": "Doe"}, headers=ADMIN)
    assert result.status_code == 500
    request_id = result.headers["x-request-id"]
    assert request_id in result.text
    assert "Doe" not in result.text and "PID123" not in result.text
    messages = [r.getMessage() for r in caplog.records]
    assert any(request_id in m for m in messages)
    assert not any("Doe" in m for m in messages)  # neither the query string nor the text
    assert raising.simulate_get("/api/system/health").status_code == 200
