"""Blobs and names in an S3-compatible object store (``NBCRED_STORAGE=s3://bucket[/prefix]``).

The endpoint comes from ``NBCRED_S3_ENDPOINT_URL`` (else boto3's own ``AWS_ENDPOINT_URL``), the
keys from boto3's usual environment (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, a profile
or an instance role). Blobs are ``<prefix>/blobs/<digest>`` (uploaded in parts, read as a
stream); a name is an object ``<prefix>/names/<name>`` whose body is the digest, created with a
conditional write (``If-None-Match: *``) when it must not exist yet.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from nbcred.storage.base import CHUNK, check_digest, check_name, spool
from nbcred.storage.errors import BlobMissing, StorageError, StoreUnreachable


def _missing(exc: Exception) -> bool:
    code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
    return code in {"404", "NoSuchKey", "NotFound"}


class S3Storage:
    """The shared store in one bucket (and key prefix) of an S3-compatible service."""

    kind = "s3"
    shared = True

    def __init__(self, url: str, *, endpoint_url: str | None = None, region: str | None = None) -> None:
        import boto3
        from botocore.config import Config

        rest = url.removeprefix("s3://")
        self.bucket, _, prefix = rest.partition("/")
        if not self.bucket:
            raise StorageError(f"NBCRED_STORAGE={url!r} names no bucket: use s3://bucket[/prefix]")
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client: Any = boto3.client(
            "s3", endpoint_url=endpoint_url, region_name=region or "us-east-1",
            config=Config(retries={"max_attempts": 5, "mode": "standard"}))

    def _blob(self, digest: str) -> str:
        return f"{self.prefix}blobs/{check_digest(digest)}"

    def _name(self, name: str) -> str:
        return f"{self.prefix}names/{check_name(name)}"

    def put(self, source: IO[bytes] | bytes) -> str:
        spooled, digest, _size = spool(source)
        with spooled:
            if not self.has(digest):
                from boto3.s3.transfer import TransferConfig

                self.client.upload_fileobj(spooled, self.bucket, self._blob(digest),
                                           Config=TransferConfig(multipart_chunksize=8 * CHUNK))
        return digest

    def has(self, digest: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._blob(digest))
        except ClientError as exc:
            if _missing(exc):
                return False
            raise StoreUnreachable(f"s3://{self.bucket}: {exc}") from exc
        return True

    def chunks(self, digest: str) -> Iterator[bytes]:
        from botocore.exceptions import ClientError

        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._blob(digest))["Body"]
        except ClientError as exc:
            if _missing(exc):
                raise BlobMissing(f"no blob {digest} in s3://{self.bucket}/{self.prefix}") from None
            raise StoreUnreachable(f"s3://{self.bucket}: {exc}") from exc
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()

    def link(self, name: str, digest: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._name(name), Body=check_digest(digest).encode())

    def link_new(self, name: str, digest: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.put_object(Bucket=self.bucket, Key=self._name(name),
                                   Body=check_digest(digest).encode(), IfNoneMatch="*")
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}:
                return False
            raise StoreUnreachable(f"s3://{self.bucket}: {exc}") from exc
        return True

    def resolve(self, name: str) -> str | None:
        from botocore.exceptions import ClientError

        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._name(name))["Body"]
        except ClientError as exc:
            if _missing(exc):
                return None
            raise StoreUnreachable(f"s3://{self.bucket}: {exc}") from exc
        with body:
            return body.read().decode().strip() or None

    def names(self, prefix: str) -> list[str]:
        start = f"{self.prefix}names/"
        found: list[str] = []
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=start + prefix)
        for page in pages:
            found += [item["Key"].removeprefix(start) for item in page.get("Contents", [])]
        return sorted(found)

    def check(self) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
            probe = self.put(b"nbcred storage probe")
        except (BotoCoreError, ClientError) as exc:
            raise StoreUnreachable(f"s3://{self.bucket} cannot be used: {exc}") from exc
        return f"s3://{self.bucket}/{self.prefix} (probe {probe[:12]} written and found)"
