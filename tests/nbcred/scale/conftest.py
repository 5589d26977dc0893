"""Fixtures of the scale-out tests: a fresh PostgreSQL database, the test's Redis, a cluster."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import empty_public_schema, unavailable
from tests.nbcred.scale.cluster import REDIS_URL, Cluster, copy_catalogue
from tests.nbcred.scale.network import Bridge, NetworkUnavailable


@pytest.fixture()
def redis_url() -> str:
    import redis

    try:
        # never emptied: tests in other processes may be using it; each cluster has its own queue
        # and every key the service writes names the queue
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.exceptions.RedisError as exc:
        unavailable(f"Redis at {REDIS_URL} is unreachable ({exc})")
    return REDIS_URL


@pytest.fixture()
def cluster(tmp_path: Path, postgres_url: str, redis_url: str) -> Iterator[Cluster]:
    """Nothing started yet: the shared settings, an absolute catalogue folder, an empty database,
    and the link (a network namespace of the workers' own) through which they reach the services."""
    import shutil

    if shutil.which("unshare") is None or shutil.which("ip") is None:
        unavailable("unshare (util-linux) and ip (iproute2) are needed to give workers namespaces")
    empty_public_schema(postgres_url)
    catalogue = copy_catalogue(tmp_path / "catalogue", "pandas-cleaning", "exploratory-stats")
    try:
        bridge = Bridge.create()
    except NetworkUnavailable as exc:
        unavailable(f"no network namespace for the workers: {exc} (root and iproute2 are needed)")
        raise
    built = Cluster(tmp_path, bridge.expose(postgres_url), bridge.expose(redis_url), catalogue, bridge)
    try:
        yield built
    finally:
        built.stop()
