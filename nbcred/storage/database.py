"""Blobs and names in the gradebook's database (``NBCRED_STORAGE=database``; PostgreSQL).

A blob is written as rows of up to 1 MiB (``storage_chunks``) and its ``storage_blobs`` row, in
one transaction, so a reader never sees half a blob; it is read back one chunk per query (the
first with the blob's row). Storing a blob that is already there writes nothing (content
addressing deduplicates). Reads are single statements on autocommit connections and a name is
pointed with one upsert: a submission's trip through the store is a few statements, not a few
dozen transactions.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO, Any

from sqlalchemy import Engine, and_, func, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from nbcred.storage.base import CHUNK, check_digest, check_name, spool
from nbcred.storage.errors import BlobMissing, StoreUnreachable
from nbcred.store.models import StoredBlob, StoredChunk, StoredName
from nbcred.store.queries import conflict_insert


class DatabaseStorage:
    """The shared store in the tables ``storage_blobs``, ``storage_chunks`` and ``storage_names``."""

    kind = "database"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.shared = engine.dialect.name != "sqlite"
        self._reads = engine.execution_options(isolation_level="AUTOCOMMIT")  # one statement each

    def put(self, source: IO[bytes] | bytes) -> str:
        spooled, digest, size = spool(source)
        with spooled:
            if self.has(digest):
                return digest
            try:
                with self.engine.begin() as conn:
                    seq = 0
                    while piece := spooled.read(CHUNK):  # one chunk in memory at a time
                        conn.execute(insert(StoredChunk).values(digest=digest, seq=seq, data=piece))
                        seq += 1
                    conn.execute(insert(StoredBlob).values(digest=digest, size=size, chunks=seq,
                                                           created_at=datetime.now(UTC)))
            except IntegrityError:  # stored concurrently by another process: the same bytes
                if not self.has(digest):
                    raise
        return digest

    def has(self, digest: str) -> bool:
        check_digest(digest)
        with self._reads.connect() as conn:
            return conn.scalar(select(StoredBlob.digest).where(StoredBlob.digest == digest)) is not None

    def chunks(self, digest: str) -> Iterator[bytes]:
        check_digest(digest)
        with self._reads.connect() as conn:
            row = conn.execute(
                select(StoredBlob.chunks, StoredChunk.data)
                .outerjoin(StoredChunk, and_(StoredChunk.digest == StoredBlob.digest, StoredChunk.seq == 0))
                .where(StoredBlob.digest == digest)).first()
        if row is None:
            raise BlobMissing(f"no blob {digest} in the database store")
        count, first = row
        for seq in range(count):
            data: bytes | None
            if seq == 0:
                data = first
            else:
                with self._reads.connect() as conn:
                    data = conn.scalar(select(StoredChunk.data).where(
                        StoredChunk.digest == digest, StoredChunk.seq == seq))
            if data is None:
                raise BlobMissing(f"blob {digest} lost its chunk {seq}")
            yield bytes(data)

    def link(self, name: str, digest: str) -> None:
        check_name(name)
        check_digest(digest)
        upsert = self._insert_name(name, digest)
        with self.engine.begin() as conn:
            conn.execute(upsert.on_conflict_do_update(
                index_elements=[StoredName.name],
                set_={"digest": upsert.excluded.digest, "updated_at": upsert.excluded.updated_at}))

    def link_new(self, name: str, digest: str) -> bool:
        check_name(name)
        check_digest(digest)
        with self.engine.begin() as conn:
            return conn.execute(self._insert_name(name, digest)
                                .on_conflict_do_nothing(index_elements=[StoredName.name])
                                .returning(StoredName.name)).first() is not None

    def _insert_name(self, name: str, digest: str) -> Any:
        """An INSERT of the name that can say what to do on a conflict (the gradebook is PostgreSQL
        or SQLite)."""
        return conflict_insert(self.engine, StoredName).values(
            name=name, digest=digest, updated_at=datetime.now(UTC))

    def resolve(self, name: str) -> str | None:
        check_name(name)
        with self._reads.connect() as conn:
            found: str | None = conn.scalar(select(StoredName.digest).where(StoredName.name == name))
            return found

    def names(self, prefix: str) -> list[str]:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        with self._reads.connect() as conn:
            return list(conn.scalars(select(StoredName.name).where(
                StoredName.name.like(f"{escaped}%", escape="\\")).order_by(StoredName.name)))

    def check(self) -> str:
        try:
            probe = self.put(b"nbcred storage probe")
            with self._reads.connect() as conn:
                count = conn.scalar(select(func.count()).select_from(StoredBlob))
        except SQLAlchemyError as exc:
            raise StoreUnreachable(f"the database store cannot be used: {exc}") from exc
        return f"database ({self.engine.dialect.name}; {count} blob(s), probe {probe[:12]} found)"
