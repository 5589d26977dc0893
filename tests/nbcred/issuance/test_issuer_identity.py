"""The issuer's first key is made once, however many processes start at the same moment."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

from nbcred.issuance.identity import key_store, load_identity
from nbcred.settings import Settings


def _identity_did(home: Path, start: Any, results: Any) -> None:
    start.wait()
    results.put(load_identity(Settings(home=home)).did)


def test_processes_starting_together_share_one_issuer_key(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    count = 6
    start, results = context.Barrier(count), context.Queue()
    processes = [context.Process(target=_identity_did, args=(tmp_path, start, results)) for _ in range(count)]
    for process in processes:
        process.start()
    dids = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    assert len(set(dids)) == 1
    assert key_store(Settings(home=tmp_path)).key_ids() == ["issuer-1"]
    assert load_identity(Settings(home=tmp_path)).did == dids[0]
