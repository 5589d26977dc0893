"""The three stores behind NBCRED_STORAGE, each on its real backend: a folder, the database
(SQLite and PostgreSQL) and an S3 endpoint (moto's server, spoken to over HTTP by boto3)."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from nbcred.settings import Settings
from nbcred.storage import (
    CHUNK,
    BlobMissing,
    Storage,
    StorageError,
    fetch_tree,
    open_storage,
    put_tree,
    read_name,
    write_name,
)
from tests.nbcred.scale.cluster import free_port

pytestmark = [pytest.mark.integration]


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's S3 server on a loopback port (a real HTTP endpoint; boto3 does not know it is moto)."""
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-p", str(port)],
                               stdout=log.open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline and process.poll() is None, log.read_text()
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait()


@pytest.fixture(params=["local", "sqlite", "postgresql", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Storage:
    kind = request.param
    if kind == "local":
        return open_storage(Settings(home=tmp_path / "home", storage="local"))
    if kind == "sqlite":
        return open_storage(Settings(home=tmp_path / "home", storage="database",
                                     database_url=f"sqlite:///{tmp_path / 'store.sqlite'}"))
    if kind == "postgresql":
        from tests.conftest import empty_public_schema

        url: str = request.getfixturevalue("postgres_url")
        empty_public_schema(url)
        return open_storage(Settings(home=tmp_path / "home", storage="database", database_url=url))
    endpoint: str = request.getfixturevalue("s3_endpoint")
    for name, value in (("AWS_ACCESS_KEY_ID", "scale-test"), ("AWS_SECRET_ACCESS_KEY", "scale-test-secret")):
        monkeypatch.setenv(name, value)
    import boto3

    bucket = f"nbcred-{os.urandom(4).hex()}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    return open_storage(Settings(home=tmp_path / "home", storage=f"s3://{bucket}/deployment",
                                 s3_endpoint_url=endpoint))


def test_blobs_are_content_addressed_streamed_and_stored_once(storage: Storage) -> None:
    big = os.urandom(2 * CHUNK + 12345)  # three chunks
    digest = storage.put(io.BytesIO(big))
    assert digest == hashlib.sha256(big).hexdigest()
    assert storage.put(big) == digest  # again: the same blob
    pieces = list(storage.chunks(digest))
    assert b"".join(pieces) == big and max(len(p) for p in pieces) <= CHUNK and len(pieces) >= 2
    assert storage.has(digest) and not storage.has(hashlib.sha256(b"other").hexdigest())
    with pytest.raises(BlobMissing):
        list(storage.chunks(hashlib.sha256(b"never stored").hexdigest()))


def test_names_point_at_blobs_and_the_first_one_wins(storage: Storage) -> None:
    assert write_name(storage, "keys/issuer-1.pem", b"first", new=True)
    assert not write_name(storage, "keys/issuer-1.pem", b"second", new=True)
    assert read_name(storage, "keys/issuer-1.pem") == b"first"
    write_name(storage, "public/status/message/1", b"v1")
    write_name(storage, "public/status/message/1", b"v2")  # replaced
    assert read_name(storage, "public/status/message/1") == b"v2"
    assert storage.names("keys/") == ["keys/issuer-1.pem"]
    assert read_name(storage, "keys/issuer-2.pem") is None
    for bad in ("../etc/passwd", "/abs", "a//b", "a/../b"):
        with pytest.raises(StorageError):
            storage.resolve(bad)


def test_concurrent_writers_of_one_name_agree_on_one_winner(storage: Storage) -> None:
    with ThreadPoolExecutor(4) as pool:
        won = list(pool.map(lambda i: write_name(storage, "keys/race", f"writer {i}".encode(), new=True),
                            range(8)))
    assert won.count(True) == 1
    assert read_name(storage, "keys/race") == f"writer {won.index(True)}".encode()


def test_a_folder_travels_as_one_name(storage: Storage, tmp_path: Path) -> None:
    source = tmp_path / "source"
    (source / "data").mkdir(parents=True)
    (source / "nb.ipynb").write_text('{"cells": []}')
    (source / "data" / "rows.csv").write_bytes(b"a,b\n1,2\n")
    put_tree(storage, "submissions/demo/abc", {"nb.ipynb": source / "nb.ipynb",
                                               "data/rows.csv": source / "data" / "rows.csv"})
    copy = fetch_tree(storage, "submissions/demo/abc", tmp_path / "copy" / "abc")
    assert (copy / "nb.ipynb").read_text() == '{"cells": []}'
    assert (copy / "data" / "rows.csv").read_bytes() == b"a,b\n1,2\n"
    with pytest.raises(BlobMissing):
        fetch_tree(storage, "submissions/demo/missing", tmp_path / "none")


def test_the_store_check_reports_what_it_reached(storage: Storage) -> None:
    probe = hashlib.sha256(b"nbcred storage probe").hexdigest()
    assert probe[:12] in storage.check()
    assert storage.has(probe)


def test_storage_setting_refuses_anything_else() -> None:
    for value in ("nfs", "s3://", "database://x", ""):
        with pytest.raises(ValueError, match="NBCRED_STORAGE"):
            Settings(storage=value)
    assert Settings(storage=" Database ").storage == "database"
