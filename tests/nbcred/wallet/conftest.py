"""Fixtures of the wallet tests: one HTTPS service per test module, the Node wallet libraries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.nbcred.wallet.wallet_world import World, node_binary, running


@pytest.fixture(scope="module")
def node() -> str:
    return node_binary()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, node: str) -> Iterator[World]:
    with running(tmp_path_factory.mktemp("wallets"), node) as live:
        yield live
