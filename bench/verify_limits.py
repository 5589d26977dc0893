"""Hostile input to the verifier: how fast each is refused and what it costs.

Usage: .venv/bin/python bench/verify_limits.py

Prints, for each case, the wall time and the peak memory it took:

* an 8-node blank-node clique, canonicalised directly (pyld and oxigraph paths);
* the same credential through ``POST /api/v1/credentials/verify`` on a live server (uvicorn on
  loopback, verification in the worker pool) while ``/healthz`` is polled: the slowest
  ``/healthz`` answer meanwhile;
* a 299 KiB PNG whose iTXt chunk inflates to 300 MiB, unbaked in a fresh process
  (peak RSS of that process, and tracemalloc's peak of the call);
* a link to a server that drips one byte every 0.3 s, against the link deadline.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def clique_direct() -> None:
    from credentials.canonical import canonicalize
    from credentials.errors import LimitExceeded
    from tests.credentials.poison import clique_credential

    document = {k: v for k, v in clique_credential(8).items() if k != "proof"}
    for canonicalizer in ("pyld", "oxigraph"):
        started = time.monotonic()
        try:
            canonicalize(document, canonicalizer=canonicalizer)
            outcome = "canonicalised (!)"
        except LimitExceeded:
            outcome = "refused"
        print(f"8-node clique, {canonicalizer:8}: {outcome} in {time.monotonic() - started:.2f} s")


def clique_live() -> None:
    import httpx

    from nbcred.web.app import create_app
    from tests.browsing import serve
    from tests.credentials.poison import clique_credential
    from tests.nbcred.web.conftest import open_context, settings_for

    settings = settings_for(Path(tempfile.mkdtemp()) / "home", serve_grading=False)
    with serve(create_app(settings, ctx=open_context(settings))) as base:
        from nbcred.service.verify_worker import workers

        workers(settings.verify_workers).wait_ready()
        busy, health = threading.Event(), []
        busy.set()

        def poll() -> None:
            with httpx.Client(base_url=base, timeout=30) as client:
                while busy.is_set():
                    started = time.monotonic()
                    client.get("/healthz")
                    health.append(time.monotonic() - started)
                    time.sleep(0.1)

        poller = threading.Thread(target=poll)
        poller.start()
        started = time.monotonic()
        answer = httpx.post(f"{base}/api/v1/credentials/verify", json=clique_credential(8), timeout=60)
        elapsed = time.monotonic() - started
        busy.clear()
        poller.join()
    print(f"8-node clique via the API: HTTP {answer.status_code}, verified="
          f"{answer.json().get('verified')} in {elapsed:.2f} s; /healthz meanwhile: "
          f"{len(health)} answers, slowest {max(health) * 1000:.0f} ms")


BOMB = """
import resource, sys, time, tracemalloc
sys.path.insert(0, sys.argv[1])
from tests.credentials.test_baking_limits import png_bomb
from credentials.baking import unbake
image = png_bomb()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
started = time.monotonic()
try:
    unbake(image)
    outcome = "read (!)"
except Exception as error:
    outcome = "refused: " + str(error)[:60]
elapsed = time.monotonic() - started
peak = tracemalloc.get_traced_memory()[1]
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"PNG bomb ({len(image) // 1024} KiB -> 300 MiB): {outcome} in {elapsed * 1000:.0f} ms; "
      f"peak traced {peak / 2**20:.1f} MiB, process max RSS {before / 1024:.0f} -> {after / 1024:.0f} MiB")
"""


def png_bomb() -> None:
    subprocess.run([sys.executable, "-c", BOMB, str(ROOT)], check=True)


def drip() -> None:
    import ipaddress
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from nbcred.service import fetch

    class Drip(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            for _ in range(100):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.3)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Drip)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    loopback = ipaddress.ip_address("127.0.0.1")
    started = time.monotonic()
    try:
        fetch.fetch_public(f"http://drip.test:{server.server_address[1]}/", deadline=8, max_bytes=2**21,
                           resolve=lambda host, port, timeout: ["127.0.0.1"],
                           is_forbidden=lambda address: address != loopback)
        outcome = "read (!)"
    except Exception as error:
        outcome = f"refused ({error})"
    print(f"dripping link, 8 s deadline: {outcome[:70]} after {time.monotonic() - started:.2f} s")
    server.shutdown()


def main() -> None:
    print(f"load average {Path('/proc/loadavg').read_text().split()[0]}")
    clique_direct()
    png_bomb()
    drip()
    clique_live()


if __name__ == "__main__":
    main()
