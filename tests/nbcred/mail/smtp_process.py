"""An SMTP server in its own process, for tests that kill it: ``python smtp_process.py PORT LOG``.

Each accepted message's recipients are appended to LOG (one line each, flushed) just before the
server answers 250; every message takes ~30 ms, so a batch is in flight long enough to be cut.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from typing import Any

from aiosmtpd.controller import Controller


class Recorder:
    def __init__(self, log: str) -> None:
        self.log = open(log, "a", encoding="utf-8")  # noqa: SIM115 (open for the process's life)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(0.03)
        for rcpt in envelope.rcpt_tos:
            self.log.write(f"{rcpt}\n")
        self.log.flush()
        return "250 Message accepted for delivery"


if __name__ == "__main__":
    controller = Controller(Recorder(sys.argv[2]), hostname="127.0.0.1", port=int(sys.argv[1]))
    controller.start()
    print("ready", flush=True)
    threading.Event().wait()
