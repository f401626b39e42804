"""Query latency over a large index: p50/p95 of patient and flat-series listings and queries,
through the core's index service and through the REST API, on SQLite and PostgreSQL.

Setup indexes ``--count`` small instances (default 100,000: 5,000 patients, 10,000 studies,
20,000 series) laid out by ``corpus.layout``. ``--load rows`` (default) writes the index rows
in bulk through the core's tables, the same rows ingest writes (no files: queries never read
them); ``--load ingest`` runs every instance through ``sb.images.add`` instead (real, but ~10
minutes per 100,000 on two cores). The REST rows run against ``slicebox serve`` on the same
index, logged in with a session cookie.

    python benchmarks/query.py [--count 100000] [--repeat 200] [--backends sqlite,postgresql]

PostgreSQL: ``SLICEBOX_TEST_POSTGRES_URL`` (default
``postgresql+psycopg://root@127.0.0.1:5432/test``); the benchmark works in a fresh schema and
drops it afterwards.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import sqlalchemy as sa

from corpus import LAST, instances, layout
from servers import PASSWORD, SUPERUSER, start_slicebox
from slicebox_core import Slicebox
from slicebox_core.db.tables import ImageRow, PatientRow, SeriesRow, SeriesSourceRow, StudyRow
from slicebox_core.index.search import COLUMNS as SEARCH_COLUMNS
from slicebox_core.index.search import search_text
from slicebox_core.models.query import (
    ListQuery,
    Query,
    QueryOperator,
    QueryOrder,
    QueryProperty,
)

POSTGRES_URL = os.environ.get(
    "SLICEBOX_TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test"
)
TARGET_P95_MS = 50.0
PAGE = 20


# setup -------------------------------------------------------------------------------------
def load_rows(sb: Slicebox, count: int, *, seed: int = 0) -> dict[str, int]:
    """Insert the corpus' index rows in bulk (ids assigned here, one transaction per table)."""
    rows: dict[Any, list[dict[str, Any]]] = {
        t: [] for t in (PatientRow, StudyRow, SeriesRow, SeriesSourceRow, ImageRow)
    }
    patients: dict[str, int] = {}
    studies: dict[str, int] = {}
    for spec in layout(count, small=True, seed=seed):
        p = spec.patient
        patient_id = patients.get(p["PatientID"])
        if patient_id is None:
            patient_id = patients[p["PatientID"]] = len(patients) + 1
            rows[PatientRow].append(
                {
                    "id": patient_id,
                    "patientName": p["PatientName"],
                    "patientID": p["PatientID"],
                    "patientBirthDate": p["PatientBirthDate"],
                    "patientSex": p["PatientSex"],
                }
            )
        s = spec.study
        study_id = studies.get(s["StudyInstanceUID"])
        if study_id is None:
            study_id = studies[s["StudyInstanceUID"]] = len(studies) + 1
            rows[StudyRow].append(
                {
                    "id": study_id,
                    "patientId": patient_id,
                    "studyInstanceUID": s["StudyInstanceUID"],
                    "studyDescription": s["StudyDescription"],
                    "studyDate": s["StudyDate"],
                    "studyID": s["StudyID"],
                    "accessionNumber": s["AccessionNumber"],
                    "patientAge": s["PatientAge"],
                }
            )
        se = spec.series
        series_id = len(rows[SeriesRow]) + 1
        rows[SeriesRow].append(
            {
                "id": series_id,
                "studyId": study_id,
                "seriesInstanceUID": se["SeriesInstanceUID"],
                "seriesDescription": se["SeriesDescription"],
                "seriesDate": se["SeriesDate"],
                "modality": se["Modality"],
                "protocolName": se["ProtocolName"],
                "bodyPartExamined": se["BodyPartExamined"],
                "manufacturer": se["Manufacturer"],
                "stationName": se["StationName"],
                "frameOfReferenceUID": se["FrameOfReferenceUID"],
            }
        )
        # most series uploaded by the superuser, every fifth received from a box
        box = series_id % 5 == 0
        rows[SeriesSourceRow].append(
            {
                "id": series_id,
                "sourcetype": "box" if box else "user",
                "sourcename": "remote" if box else SUPERUSER,
                "sourceid": 1,
            }
        )
        for i, sop in enumerate(spec.sop_uids):
            image_id = len(rows[ImageRow]) + 1
            rows[ImageRow].append(
                {
                    "id": image_id,
                    "seriesId": series_id,
                    "sopInstanceUID": sop,
                    "imageType": "ORIGINAL\\PRIMARY\\AXIAL",
                    "instanceNumber": str(i + 1),
                    "storageKey": f"bulk-{image_id}",
                    "sizeBytes": 1280,
                    "sha256": "",
                    "sopClassUID": "",
                    "transferSyntaxUID": "1.2.840.10008.1.2.1",
                }
            )
    # the flat-series filter reads Series.searchText, which ingest maintains (index/search.py)
    patients = {p["id"]: p for p in rows[PatientRow]}
    studies = {s["id"]: s for s in rows[StudyRow]}
    for series in rows[SeriesRow]:
        study = studies[series["studyId"]]
        merged = {**patients[study["patientId"]], **study, **series}
        series["searchText"] = search_text(tuple(merged[c.key] for c in SEARCH_COLUMNS))
    engine = sb.db.write_engine
    for table, values in rows.items():
        with engine.begin() as conn:
            for i in range(0, len(values), 20_000):
                conn.execute(sa.insert(table.__table__), values[i : i + 20_000])
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            for table in (PatientRow, StudyRow, SeriesRow, ImageRow):
                name = table.__tablename__
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), "
                    f'(SELECT max(id) FROM "{name}"))'
                )
    return {t.__tablename__: len(v) for t, v in rows.items()}


def load_ingest(sb: Slicebox, count: int, *, seed: int = 0) -> dict[str, int]:
    """Ingest every small instance through the real pipeline (slow)."""
    for _, data in instances(count, small=True, seed=seed):
        sb.images.add(data)
    with sb.db.read() as session:
        return {
            t.__tablename__: session.scalar(sa.select(sa.func.count()).select_from(t)) or 0
            for t in (PatientRow, StudyRow, SeriesRow, ImageRow)
        }


def analyze(sb: Slicebox) -> None:
    """Refresh planner statistics, as autovacuum / a DBA would on a loaded index."""
    with sb.db.write_engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh schema on the test server; yields a URL whose search_path points to it."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


# the measured queries ------------------------------------------------------------------------
@dataclass
class Case:
    """One query, as a core call and as the equivalent REST request, for iteration ``i``."""

    name: str
    core: Callable[[Slicebox, int], list[Any]]
    rest: Callable[[int], tuple[str, str, dict[str, Any]]]  # method, path, httpx kwargs


def cases(counts: dict[str, int], seed: int = 0) -> list[Case]:
    rng = np.random.default_rng(seed)
    name_terms = [n[:4].lower() for n in LAST]
    series_terms = ["knee", "globex", "mr chest", "station3", "pelvis routine", "umbrella"]
    patient_pages = rng.integers(0, max(1, counts["Patients"] - PAGE), size=1024)
    series_pages = rng.integers(0, max(1, counts["Series"] - PAGE), size=1024)
    modalities = ["CT", "MR", "PT", "CR"]

    def patients_filter(i: int) -> ListQuery:
        return ListQuery(count=PAGE, order_by="patientName", filter=name_terms[i % len(name_terms)])

    def patients_page(i: int) -> ListQuery:
        return ListQuery(
            start_index=int(patient_pages[i % 1024]),
            count=PAGE,
            order_by="patientBirthDate",
            order_ascending=False,
        )

    def flat_filter(i: int) -> ListQuery:
        return ListQuery(
            count=PAGE,
            order_by="seriesDate",
            order_ascending=False,
            filter=series_terms[i % len(series_terms)],
        )

    def flat_page(i: int) -> ListQuery:
        return ListQuery(
            start_index=int(series_pages[i % 1024]), count=PAGE, order_by="patientName"
        )

    def flat_query(i: int) -> Query:
        return Query(
            start_index=0,
            count=PAGE,
            query_properties=(
                QueryProperty("modality", QueryOperator.EQUALS, modalities[i % 4]),
                QueryProperty("patientName", QueryOperator.LIKE, name_terms[i % len(name_terms)]),
            ),
            order=QueryOrder("studyDate", False),
        )

    def params(q: ListQuery) -> dict[str, Any]:
        p: dict[str, Any] = {"startindex": q.start_index, "count": q.count}
        if q.order_by:
            p["orderby"] = q.order_by
            p["orderascending"] = str(q.order_ascending).lower()
        if q.filter:
            p["filter"] = q.filter
        return p

    def body(q: Query) -> dict[str, Any]:
        return {
            "startIndex": q.start_index,
            "count": q.count,
            "queryProperties": [
                {
                    "propertyName": p.property_name,
                    "operator": p.operator.value,
                    "propertyValue": p.property_value,
                }
                for p in q.query_properties
            ],
            "order": {"orderBy": q.order.order_by, "orderAscending": q.order.order_ascending}
            if q.order
            else None,
        }

    return [
        Case(
            "patients  filter+orderby name",
            lambda sb, i: sb.index.patients(patients_filter(i)),
            lambda i: ("GET", "/api/metadata/patients", {"params": params(patients_filter(i))}),
        ),
        Case(
            "patients  page+orderby birthdate",
            lambda sb, i: sb.index.patients(patients_page(i)),
            lambda i: ("GET", "/api/metadata/patients", {"params": params(patients_page(i))}),
        ),
        Case(
            "flatseries filter+orderby date",
            lambda sb, i: sb.index.flat_series(flat_filter(i)),
            lambda i: ("GET", "/api/metadata/flatseries", {"params": params(flat_filter(i))}),
        ),
        Case(
            "flatseries page+orderby name",
            lambda sb, i: sb.index.flat_series(flat_page(i)),
            lambda i: ("GET", "/api/metadata/flatseries", {"params": params(flat_page(i))}),
        ),
        Case(
            "flatseries query modality+name",
            lambda sb, i: sb.index.query_flat_series(flat_query(i)),
            lambda i: ("POST", "/api/metadata/flatseries/query", {"json": body(flat_query(i))}),
        ),
    ]


def measure(fn: Callable[[int], int], repeat: int, warmup: int = 5) -> tuple[float, float, float]:
    """Call ``fn(i)`` (returns a row count); p50 and p95 in ms and the mean row count."""
    for i in range(warmup):
        fn(i)
    times, counts = [], []
    for i in range(repeat):
        t0 = time.perf_counter()
        counts.append(fn(i))
        times.append((time.perf_counter() - t0) * 1000)
    q = statistics.quantiles(times, n=100, method="inclusive")
    return q[49], q[94], statistics.fmean(counts)


def report(backend: str, via: str, case: Case, p50: float, p95: float, rows: float) -> None:
    flag = "" if p95 < TARGET_P95_MS else f"  <- over {TARGET_P95_MS:.0f} ms"
    print(
        f"{backend:<11} {via:<5} {case.name:<34} {rows:>5.1f} {p50:>8.2f} {p95:>8.2f}{flag}",
        flush=True,
    )


def login(client: httpx.Client) -> None:
    """Log in with a session cookie, as the web UI does (Basic auth if login fails)."""
    response = client.post("/api/users/login", json={"user": SUPERUSER, "pass": PASSWORD})
    if response.status_code not in (200, 201, 204):
        print(f"  (login answered {response.status_code}; using Basic auth per request)")
        client.auth = (SUPERUSER, PASSWORD)


def run_backend(backend: str, data_dir: Path, url: str | None, args: argparse.Namespace) -> None:
    with Slicebox.open(data_dir, database_url=url) as sb:
        t0 = time.perf_counter()
        counts = (load_ingest if args.load == "ingest" else load_rows)(sb, args.count)
        analyze(sb)
        print(
            f"{backend}: indexed {counts.get('Images', args.count)} images, "
            f"{counts['Patients']} patients, {counts['Studies']} studies, "
            f"{counts['Series']} series via {args.load} in {time.perf_counter() - t0:.1f} s",
            flush=True,
        )
        todo = cases(counts)
        for case in todo:
            report(
                backend, "core", case, *measure(lambda i, c=case: len(c.core(sb, i)), args.repeat)
            )
    if args.skip_rest:
        return
    env = {"SLICEBOX_DATABASE__URL": url} if url else {}
    with (
        start_slicebox(data_dir, workers=args.workers, env=env) as server,
        httpx.Client(base_url=server.url, timeout=60) as client,
    ):
        login(client)

        def call(case: Case, i: int) -> int:
            method, path, kwargs = case.rest(i)
            response = client.request(method, path, **kwargs)
            if response.status_code != 200:
                raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
            return len(response.json())

        for case in todo:
            report(backend, "REST", case, *measure(lambda i, c=case: call(c, i), args.repeat))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000, help="images in the index")
    parser.add_argument("--repeat", type=int, default=200, help="timed calls per query")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--load", choices=["rows", "ingest"], default="rows")
    parser.add_argument("--workers", type=int, default=None, help="slicebox serve --workers")
    parser.add_argument("--skip-rest", action="store_true")
    args = parser.parse_args(argv)

    print(
        f"{'backend':<11} {'via':<5} {'query (page of ' + str(PAGE) + ')':<34} {'rows':>5}"
        f" {'p50 ms':>8} {'p95 ms':>8}"
    )
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory(prefix=f"slicebox-query-{backend}-") as tmp:
            data_dir = Path(tmp) / "data"
            if backend == "sqlite":
                run_backend(backend, data_dir, None, args)
            elif backend == "postgresql":
                with postgres_schema() as url:
                    run_backend(backend, data_dir, url, args)
            else:
                parser.error(f"unknown backend {backend!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
