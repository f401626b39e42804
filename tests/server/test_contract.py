"""The OpenAPI document against what the responders actually do.

``test_openapi.py`` checks that every served route and method is documented. Here every
responder of the live route table is called (as the superuser) while the request object
records which query parameters it reads and whether it reads a body: each must be in the
operation's document, and so must the status it answers.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import falcon
import pytest
from falcon import inspect, testing

from slicebox_server.openapi import openapi_path

from .auth_headers import ADMIN

# Statuses any operation may answer without listing them: framework-level refusals.
GLOBAL = {"405", "413", "415", "429"}
DESTRUCTIVE = {("POST", "/api/system/stop")}


def concrete(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", template)


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """What the current request read: query parameter names and whether it read a body."""
    seen: dict[str, Any] = {"params": set(), "body": False}
    get_param = falcon.Request.get_param
    bounded = falcon.Request.bounded_stream

    def recording_get_param(self: falcon.Request, name: str, *args: Any, **kw: Any) -> Any:
        seen["params"].add(name)
        return get_param(self, name, *args, **kw)

    def recording_bounded(self: falcon.Request) -> Any:
        seen["body"] = True
        return bounded.fget(self)  # type: ignore[attr-defined]

    monkeypatch.setattr(falcon.Request, "get_param", recording_get_param)
    monkeypatch.setattr(falcon.Request, "bounded_stream", property(recording_bounded))
    yield seen


def served(app: falcon.App) -> Iterator[tuple[str, str]]:
    for route in inspect.inspect_app(app).routes:
        for method in route.methods:
            if not method.internal and route.path.startswith("/api/"):
                yield method.method, route.path


def test_responders_read_only_documented_parameters_and_bodies(
    sim: testing.TestClient, recorded: dict[str, Any]
) -> None:
    document = sim.simulate_get("/api/openapi.json").json
    problems: dict[str, list[str]] = defaultdict(list)
    for method, template in served(sim.app):
        if (method, template) in DESTRUCTIVE:
            continue
        operation = document["paths"][openapi_path(template)][method.lower()]
        params = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        for body in (None, b"{}"):
            recorded["params"].clear()
            recorded["body"] = False
            headers = {**ADMIN, "Content-Type": "application/json"} if body else ADMIN
            result = sim.simulate_request(method, concrete(template), headers=headers, body=body)
            where = f"{method} {template}"
            undocumented = recorded["params"] - params
            if undocumented:
                problems[where].append(f"reads undocumented parameters {sorted(undocumented)}")
            if recorded["body"] and "requestBody" not in operation:
                problems[where].append("reads a body that is not documented")
            status = str(result.status_code)
            if status not in operation["responses"] and status not in GLOBAL:
                problems[where].append(f"answered {status}, not documented")
    assert not problems, "\n".join(f"{k}: {'; '.join(sorted(set(v)))}" for k, v in problems.items())
