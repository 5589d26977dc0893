"""Run inside a worker's namespaces before the worker starts: what of this machine can it see?

``python probe.py SEEN.json REACHED.json PATH… -- HOST:PORT…`` writes, for each path, how many
entries the worker sees in it, and for each address whether a TCP connection there succeeds.
"""

from __future__ import annotations

import json
import os
import socket
import sys


def _answers(address: str) -> bool:
    host, _, port = address.rpartition(":")
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex((host, int(port))) == 0


def main(argv: list[str]) -> None:
    seen_file, reached_file, *rest = argv
    split = rest.index("--")
    paths, addresses = rest[:split], rest[split + 1:]
    with open(reached_file, "w") as out:
        json.dump({a: _answers(a) for a in addresses}, out)
    with open(seen_file, "w") as out:  # written last: the cluster waits for this one
        json.dump({p: os.path.exists(p) and len(os.listdir(p)) for p in paths}, out)


if __name__ == "__main__":
    main(sys.argv[1:])
