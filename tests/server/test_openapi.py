"""The OpenAPI document describes exactly the routes the app serves."""

from __future__ import annotations

import json
import re

import falcon
import httpx
from falcon import inspect

from slicebox_server.openapi import openapi_path
from slicebox_server.routes import ROUTES


def served(app: falcon.App) -> set[tuple[str, str]]:
    return {
        (method.method.lower(), openapi_path(route.path))
        for route in inspect.inspect_app(app).routes
        for method in route.methods
        if not method.internal
    }


def documented(document: dict) -> set[tuple[str, str]]:  # type: ignore[type-arg]
    return {(method, path) for path, item in document["paths"].items() for method in item}


def test_document_matches_the_route_table(app: falcon.App, http: httpx.Client) -> None:
    document = http.get("/api/openapi.json").json()
    assert document["openapi"] == "3.1.0"
    missing = served(app) - documented(document)
    extra = documented(document) - served(app)
    assert not missing, f"routes without documentation: {sorted(missing)}"
    assert not extra, f"documented but not served: {sorted(extra)}"


def test_every_resource_documents_every_responder() -> None:
    for template, cls in ROUTES:
        methods = {m[3:].upper() for m in dir(cls) if m.startswith("on_")}
        assert set(cls.docs) == methods, template


def test_refs_resolve_and_path_params_declared(http: httpx.Client) -> None:
    document = http.get("/api/openapi.json").json()
    schemas = document["components"]["schemas"]
    for ref in re.findall(r'"\$ref": "#/components/schemas/(\w+)"', json.dumps(document)):
        assert ref in schemas, ref
    for path, item in document["paths"].items():
        names = set(re.findall(r"\{(\w+)\}", path))
        for operation in item.values():
            params = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert params == names, path
            assert operation["responses"], path


def test_schemas_follow_the_wire(http: httpx.Client) -> None:
    schemas = http.get("/api/openapi.json").json()["components"]["schemas"]
    patient = schemas["Patient"]["properties"]
    assert patient["patientID"] == {"$ref": "#/components/schemas/DPV"}
    assert patient["id"]["type"] == "integer"
    query = schemas["Query"]
    assert set(query["required"]) >= {"startIndex", "count"}
    assert "order" not in query["required"]
    assert schemas["QueryProperty"]["properties"]["operator"]["enum"] == ["=", "like"]


def test_security_and_flaws_are_documented(http: httpx.Client) -> None:
    paths = http.get("/api/openapi.json").json()["paths"]
    assert paths["/api/system/health"]["get"]["security"] == []
    patients = paths["/api/metadata/patients"]["get"]
    assert patients["x-slicebox-role"] == "USER" and "401" in patients["responses"]
    assert "500" in paths["/api/metadata/seriestags/{id}"]["get"]["description"]
    assert "bug" in paths["/api/images/{id}/png"]["get"]["description"]
    upload = paths["/api/images"]["post"]["requestBody"]["content"]
    assert set(upload) == {"application/octet-stream", "multipart/form-data"}
