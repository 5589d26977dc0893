"""Verification in worker processes with a deadline: never on the web service's event loop, and
a document that would run long is stopped, not waited for.

Reading a badge image, canonicalising and checking a credential are CPU work on input from
anyone. They run in a small pool of separate processes (``pebble``); each task gets
``verify_deadline_seconds`` and its worker is killed and replaced when the time is up. The limits
of :mod:`credentials.limits` refuse the known expensive shapes long before that; the deadline is
the backstop, each worker's address space is capped (:data:`WORKER_MEMORY_BYTES`) and it runs
at a lower priority (nice 10) than the service, which keeps answering while a worker is busy.
"""

from __future__ import annotations

import atexit
import json
import multiprocessing
import os
import resource
import threading
from collections.abc import Callable
from concurrent.futures import CancelledError
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pebble import ProcessExpired, ProcessPool

from credentials.baking import unbake
from credentials.errors import CredentialError
from credentials.limits import LIMITS
from credentials.verify import VerificationResult, offline_verifier, verify_credential
from nbcred.service.errors import BadRequest, TooLarge, Unavailable
from nbcred.service.jsonlimits import check_depth

T = TypeVar("T")
WORKER_MEMORY_BYTES = 2 * 1024 * 1024 * 1024
"""Address-space cap of a verification worker: a document that needs more fails, the service
does not."""
STARTUP_SECONDS = 120.0
"""How long a caller waits for the first worker to start (imports, once per pool), apart from
its deadline."""


@dataclass(frozen=True)
class Trust:
    """What the worker needs besides the credential: this service's DID documents and its
    published status lists (nothing is fetched)."""

    did_documents: tuple[dict[str, Any], ...] = ()
    status_lists: dict[str, dict[str, Any]] = field(default_factory=dict)


class DeadlineExceeded(Exception):
    """The task ran longer than its deadline; its worker was stopped."""


def verify_with(document: Any, trust: Trust) -> VerificationResult:
    """Verify ``document`` against ``trust`` (in a worker, or anywhere)."""
    resolver, checker = offline_verifier(did_documents=trust.did_documents, status_lists=trust.status_lists)
    return verify_credential(document, resolver=resolver, status_checker=checker)


def document_job(document: Any, trust: Trust) -> tuple[Any, VerificationResult]:
    """Verify a parsed credential; returns it with the result."""
    return document, verify_with(document, trust)


def file_job(filename: str, content: bytes, trust: Trust) -> tuple[Any, VerificationResult]:
    """Read a JSON file or baked PNG/SVG badge, then verify it."""
    document = credential_from_file(filename, content)
    return document, verify_with(document, trust)


def text_job(text: str, trust: Trust) -> tuple[Any, VerificationResult]:
    """Parse pasted JSON, then verify it."""
    document = parse_credential_text(text)
    return document, verify_with(document, trust)


def parse_credential_text(text: str) -> Any:
    """Pasted JSON as a document (a 400 saying what is wrong otherwise)."""
    check_depth(text, LIMITS.max_depth)  # before parsing: Python's parser recurses per level
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"that is not JSON ({exc}); paste the whole credential file") from exc
    except RecursionError:
        raise BadRequest(f"that JSON is nested more than {LIMITS.max_depth} levels deep") from None


def credential_from_file(filename: str, content: bytes) -> Any:
    """A credential from an uploaded JSON file or a baked PNG/SVG badge."""
    if len(content) > LIMITS.max_bytes:
        raise TooLarge(f"the file is larger than {LIMITS.max_bytes // (1024 * 1024)} MiB; upload the "
                       "credential JSON or the badge image")
    stripped = content.lstrip()
    if stripped[:1] in (b"{", b"["):
        return parse_credential_text(content.decode("utf-8", errors="replace"))
    try:
        baked = unbake(content)
    except CredentialError as exc:
        raise BadRequest(f"{filename}: {exc}") from exc
    if isinstance(baked, str):
        raise BadRequest(f"{filename} holds a JWT credential; only Data Integrity (JSON) "
                         "credentials are verified here")
    return baked


def _ready() -> bool:
    return True


def _start_worker(limit: int) -> None:
    """A worker yields the CPU to the service (nice 10) and cannot take more than ``limit`` bytes."""
    os.nice(10)
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard == resource.RLIM_INFINITY or hard > limit:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


class Workers:
    """A pool of verification processes; :meth:`run` calls a function in one, with a deadline."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._pool = ProcessPool(max_workers=size, initializer=_start_worker,
                                 initargs=(WORKER_MEMORY_BYTES,),
                                 context=multiprocessing.get_context("spawn"))
        self._ready = self._pool.schedule(_ready)

    def wait_ready(self) -> None:
        """Wait (at most :data:`STARTUP_SECONDS`) until a worker has started: a new process
        imports the verifier first, which is not the document's time to be charged."""
        try:
            self._ready.result(timeout=STARTUP_SECONDS)
        except Exception:
            raise Unavailable("the verifier is starting; try again in a minute") from None

    def run(self, function: Callable[..., T], *args: Any, deadline: float) -> T:
        """``function(*args)`` in a worker, answered within ``deadline`` seconds of wall time.

        Raises :class:`DeadlineExceeded` when the function ran past the deadline (its worker is
        stopped and replaced), :class:`Unavailable` when no worker could start it in time or the
        worker died; the function's own exceptions come back as they were raised."""
        self.wait_ready()
        future = self._pool.schedule(function, args=args, timeout=deadline)
        try:
            return future.result(timeout=deadline)
        except FutureTimeout:
            started = future.running() or future.done()
            future.cancel()  # a running task's worker is killed; a queued one is dropped
            if started:
                raise DeadlineExceeded(f"stopped after {deadline:g} s") from None
            raise Unavailable("the verifier is busy; try again in a minute") from None
        except (ProcessExpired, CancelledError):
            raise Unavailable("the verifier stopped while checking this credential (it needed "
                              "too much memory); it was not verified") from None

    def close(self) -> None:
        """Stop the workers."""
        self._pool.stop()
        self._pool.join(timeout=10)


_shared: Workers | None = None
_shared_lock = threading.Lock()


def workers(size: int) -> Workers:
    """This process's verification pool (started on first use, stopped at exit)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Workers(size)
            atexit.register(_shared.close)
        return _shared
