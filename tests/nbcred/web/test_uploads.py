"""Bad uploads are refused with a clear detail and store nothing; good ones are stored by content hash."""

from __future__ import annotations

import io
import json
import stat
import zipfile
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from nbcred.store.models import WebSubmission
from tests.nbcred.web.conftest import SAMPLES, Service

NOTEBOOK = (SAMPLES / "pandas-cleaning" / "alice" / "cleaning.ipynb").read_bytes()


def zipped(entries: dict[str, bytes], *, symlink: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def post(service: Service, files: list[tuple[str, tuple[str, bytes]]],
         assessment: str = "pandas-cleaning") -> httpx.Response:
    return service.client.post("/api/v1/submissions", headers=service.auth("ada"),
                               data={"assessment": assessment}, files=files)


def stored_nothing(service: Service) -> bool:
    uploads = service.ctx.settings.home / "uploads"
    files = [p for p in uploads.rglob("*") if p.is_file()] if uploads.exists() else []
    with service.ctx.store.session() as session:
        rows = session.scalar(select(func.count()).select_from(WebSubmission))
    return not files and rows == 0


CASES = {
    "not a notebook": ([("files", ("notes.txt", b"hello"))], 422, "is not a notebook"),
    "broken JSON": ([("files", ("cleaning.ipynb", b"{not json"))], 422, "not valid JSON"),
    "JSON but no cells": ([("files", ("cleaning.ipynb", b'{"a": 1}'))], 422, "no cells"),
    "another assessment's notebook": ([("files", ("plots.ipynb", NOTEBOOK))], 422,
                                      "not a notebook of assessment pandas-cleaning"),
    "twice the same notebook": ([("files", ("cleaning.ipynb", NOTEBOOK))] * 2, 422, "uploaded twice"),
    "corrupt zip": ([("files", ("work.zip", b"PK\x03\x04 broken"))], 400, "not a valid zip"),
    "path traversal": ([("files", ("work.zip", zipped({"../../etc/cleaning.ipynb": NOTEBOOK})))], 422,
                       "points outside the folder"),
    "absolute path": ([("files", ("work.zip", zipped({"/tmp/cleaning.ipynb": NOTEBOOK})))], 422,
                      "points outside the folder"),
    "symlink": ([("files", ("work.zip", zipped({"cleaning.ipynb": NOTEBOOK}, symlink="data.ipynb")))], 422,
                "symbolic link"),
    "zip bomb": ([("files", ("work.zip", zipped({"cleaning.ipynb": b"0" * (60 * 1024 * 1024)})))], 413,
                 "expands to"),
    "too many files": ([("files", (f"n{i}.ipynb", NOTEBOOK)) for i in range(51)], 413, "too many"),
    "too large": ([("files", ("cleaning.ipynb", NOTEBOOK + b" " * (21 * 1024 * 1024)))], 413, "larger than"),
    "a script in the zip": ([("files", ("work.zip", zipped({"w/cleaning.ipynb": NOTEBOOK,
                                                            "w/run.sh": b"rm -rf /"})))], 422,
                            "run.sh is not a notebook"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_upload_is_refused_and_nothing_is_stored(shared_quiet_service: Service, case: str) -> None:
    files, status, words = CASES[case]
    response = post(shared_quiet_service, files)
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and words in detail
    assert stored_nothing(shared_quiet_service)


def test_unknown_assessment_and_missing_files(shared_quiet_service: Service) -> None:
    service = shared_quiet_service
    unknown = post(service, [("files", ("cleaning.ipynb", NOTEBOOK))], assessment="nope")
    assert unknown.status_code == 422 and "not in the catalogue" in unknown.json()["detail"]
    missing = service.client.post("/api/v1/submissions", headers=service.auth("ada"),
                                  data={"assessment": "pandas-cleaning"})
    assert missing.status_code == 422 and "files" in missing.json()["detail"]
    assert stored_nothing(service)


def test_zip_of_the_released_folder_is_accepted_and_stored_once(quiet_service: Service) -> None:
    release = quiet_service.client.get("/api/v1/assessments/pandas-cleaning/release.zip",
                                       headers=quiet_service.auth("ada")).content
    archive = zipfile.ZipFile(io.BytesIO(release))
    entries = {name: archive.read(name) for name in archive.namelist()}
    entries["pandas-cleaning/.ipynb_checkpoints/cleaning-checkpoint.ipynb"] = b"{}"
    first = post(quiet_service, [("files", ("mine.zip", zipped(entries)))])
    assert first.status_code == 202 and first.json()["status"] == "queued"
    again = post(quiet_service, [("files", ("cleaning.ipynb", entries["pandas-cleaning/cleaning.ipynb"]))])
    assert again.status_code == 202 and again.json()["attempt"] == first.json()["attempt"] == 1
    stored = [p for p in (quiet_service.ctx.settings.home / "uploads" / "pandas-cleaning").iterdir()]
    assert len(stored) == 1 and [p.name for p in stored[0].iterdir()] == ["cleaning.ipynb"]
    assert not stored[0].joinpath("cleaning.ipynb").stat().st_mode & 0o222  # read-only


def test_attempts_run_out(quiet_service: Service) -> None:
    document = json.loads(NOTEBOOK)
    for attempt in (1, 2, 3):
        document["metadata"]["attempt"] = attempt
        response = post(quiet_service, [("files", ("cleaning.ipynb", json.dumps(document).encode()))])
        assert response.status_code == 202 and response.json()["attempt"] == attempt
    document["metadata"]["attempt"] = 4
    refused = post(quiet_service, [("files", ("cleaning.ipynb", json.dumps(document).encode()))])
    assert refused.status_code == 409 and "all 3 attempt(s)" in refused.json()["detail"]
    document["metadata"]["attempt"] = 2  # the same content again is not a new attempt
    same = post(quiet_service, [("files", ("cleaning.ipynb", json.dumps(document).encode()))])
    assert same.status_code == 202 and same.json()["attempt"] == 2
    assert len(list((quiet_service.ctx.settings.home / "uploads" / "pandas-cleaning").iterdir())) == 3


def test_notebook_names_from_the_browser_cannot_escape(quiet_service: Service, tmp_path: Path) -> None:
    response = post(quiet_service, [("files", ("../../cleaning.ipynb", NOTEBOOK))])
    assert response.status_code == 202
    stored = list((quiet_service.ctx.settings.home / "uploads").rglob("*.ipynb"))
    assert [p.name for p in stored] == ["cleaning.ipynb"]
    assert all(quiet_service.ctx.settings.home in p.parents for p in stored)
