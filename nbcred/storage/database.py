"""Blobs and names in the gradebook's database (``NBCRED_STORAGE=database``; PostgreSQL).

A blob is written as rows of up to 1 MiB (``storage_chunks``) and its ``storage_blobs`` row, in
one transaction, so a reader never sees half a blob; it is read back one chunk per query.
Storing a blob that is already there writes nothing (content addressing deduplicates).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from nbcred.storage.base import CHUNK, check_digest, check_name, spool
from nbcred.storage.errors import BlobMissing, StoreUnreachable
from nbcred.store.models import StoredBlob, StoredChunk, StoredName


class DatabaseStorage:
    """The shared store in the tables ``storage_blobs``, ``storage_chunks`` and ``storage_names``."""

    kind = "database"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.shared = engine.dialect.name != "sqlite"
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def _session(self) -> Session:
        return self._sessions()

    def put(self, source: IO[bytes] | bytes) -> str:
        spooled, digest, size = spool(source)
        with spooled:
            if self.has(digest):
                return digest
            try:
                with self._session() as session, session.begin():
                    seq = 0
                    while piece := spooled.read(CHUNK):
                        session.add(StoredChunk(digest=digest, seq=seq, data=piece))
                        session.flush()  # one chunk in memory at a time
                        session.expunge_all()
                        seq += 1
                    session.add(StoredBlob(digest=digest, size=size, chunks=seq))
            except IntegrityError:  # stored concurrently by another process: the same bytes
                if not self.has(digest):
                    raise
        return digest

    def has(self, digest: str) -> bool:
        check_digest(digest)
        with self._session() as session:
            return session.get(StoredBlob, digest) is not None

    def chunks(self, digest: str) -> Iterator[bytes]:
        with self._session() as session:
            blob = session.get(StoredBlob, check_digest(digest))
            count = None if blob is None else blob.chunks
        if count is None:
            raise BlobMissing(f"no blob {digest} in the database store")
        for seq in range(count):
            with self._session() as session:
                data = session.scalar(select(StoredChunk.data).where(
                    StoredChunk.digest == digest, StoredChunk.seq == seq))
            if data is None:
                raise BlobMissing(f"blob {digest} lost its chunk {seq}")
            yield bytes(data)

    def link(self, name: str, digest: str) -> None:
        check_name(name)
        check_digest(digest)
        now = datetime.now(UTC)
        for _ in range(3):
            with self._session() as session, session.begin():
                changed = session.execute(  # type: ignore[attr-defined]
                    update(StoredName).where(StoredName.name == name)
                    .values(digest=digest, updated_at=now)).rowcount
            if changed or self.link_new(name, digest):
                return
        raise StoreUnreachable(f"could not point {name} at {digest[:12]}: it keeps changing")

    def link_new(self, name: str, digest: str) -> bool:
        check_name(name)
        check_digest(digest)
        try:
            with self._session() as session, session.begin():
                session.add(StoredName(name=name, digest=digest, updated_at=datetime.now(UTC)))
        except IntegrityError:
            return False
        return True

    def resolve(self, name: str) -> str | None:
        with self._session() as session:
            return session.scalar(select(StoredName.digest).where(StoredName.name == check_name(name)))

    def names(self, prefix: str) -> list[str]:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        with self._session() as session:
            return list(session.scalars(select(StoredName.name).where(
                StoredName.name.like(f"{escaped}%", escape="\\")).order_by(StoredName.name)))

    def check(self) -> str:
        try:
            probe = self.put(b"nbcred storage probe")
            with self._session() as session:
                count = session.query(StoredBlob).count()
        except SQLAlchemyError as exc:
            raise StoreUnreachable(f"the database store cannot be used: {exc}") from exc
        return f"database ({self.engine.dialect.name}; {count} blob(s), probe {probe[:12]} found)"
