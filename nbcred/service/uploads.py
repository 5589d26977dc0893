"""Upload checks: notebooks or a zip of the folder, bounded, refused clearly, stored by content hash.

Everything is checked in memory before anything is written, so a refused upload stores nothing.
Accepted notebooks are written once to ``<home>/uploads/<assessment>/<content hash>/`` and never
changed afterwards (the same content maps to the same folder).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from grader.assessment import Assessment
from grader.grade import content_hash
from nbcred.service.errors import BadRequest, TooLarge, Unprocessable
from nbcred.settings import Settings

IGNORED_PARTS = {"__MACOSX", ".ipynb_checkpoints"}
IGNORED_NAMES = {".DS_Store", "Thumbs.db"}
MAX_RATIO = 200  # an entry expanding more than this (and beyond 1 MiB) is a zip bomb


@dataclass(frozen=True)
class UploadedFile:
    """One file of a multipart upload: the name the browser sent and its bytes."""

    filename: str
    content: bytes


@dataclass(frozen=True)
class StoredUpload:
    """Where accepted notebooks were stored, and their content hash (the submission's key)."""

    path: Path
    content_hash: str
    notebooks: tuple[str, ...]


def check_upload(
    settings: Settings, assessment: Assessment, files: Sequence[UploadedFile]
) -> dict[str, bytes]:
    """The notebooks of an upload by file name, or a clear refusal (nothing is written)."""
    if not files:
        raise BadRequest("no files: attach the assessment's .ipynb notebook(s) or a .zip of its folder")
    if len(files) > settings.upload_max_files:
        raise TooLarge(f"{len(files)} files is too many: upload at most {settings.upload_max_files}")
    total = sum(len(f.content) for f in files)
    if total > settings.upload_max_bytes:
        raise TooLarge(f"the upload is {_mib(total)}, more than the {_mib(settings.upload_max_bytes)} "
                       "allowed: submit only the notebooks, with large outputs cleared")
    entries: list[tuple[str, bytes]] = []
    for upload in files:
        name = _plain_name(upload.filename)
        if name.lower().endswith(".zip") or upload.content[:4] == b"PK\x03\x04":
            entries += _unzip(settings, name, upload.content)
        else:
            entries.append((name, upload.content))
    return _notebooks(settings, assessment, entries)


def _mib(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MiB"


def _plain_name(filename: str) -> str:
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name or name in {".", ".."}:
        raise Unprocessable(f"file name {filename!r} is not usable: give the file its notebook's name")
    return name


def _unzip(settings: Settings, name: str, content: bytes) -> list[tuple[str, bytes]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise BadRequest(f"{name} is not a valid zip file ({exc}): zip the folder again") from exc
    if len(infos) > settings.upload_max_files:
        raise TooLarge(f"{name} holds {len(infos)} entries, more than the {settings.upload_max_files} "
                       "allowed: zip only the assessment folder")
    declared = sum(i.file_size for i in infos)
    if declared > settings.upload_max_unzipped_bytes:
        raise TooLarge(f"{name} expands to {_mib(declared)}, more than the "
                       f"{_mib(settings.upload_max_unzipped_bytes)} allowed")
    paths = [_entry_path(name, info) for info in infos]
    files = [(p, i) for p, i in zip(paths, infos, strict=True) if p is not None and not i.is_dir()]
    prefix = _common_folder([p for p, _ in files])
    entries: list[tuple[str, bytes]] = []
    budget = settings.upload_max_unzipped_bytes
    for path, info in files:
        data = _read_entry(archive, info, name, budget)
        budget -= len(data)
        entries.append(("/".join(path.parts[prefix:]), data))
    return entries


def _entry_path(name: str, info: zipfile.ZipInfo) -> PurePosixPath | None:
    """The entry's relative path; None for entries that are skipped; refusal for unsafe ones."""
    raw = info.filename
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise Unprocessable(f"{name}: {raw!r} is a symbolic link; zip the notebooks themselves")
    if info.flag_bits & 0x1:
        raise Unprocessable(f"{name}: {raw!r} is encrypted; zip it without a password")
    path = PurePosixPath(raw.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (raw[1:2] == ":" and raw[:1].isalpha()):
        raise Unprocessable(f"{name}: {raw!r} points outside the folder; zip the folder itself")
    if any(part in IGNORED_PARTS for part in path.parts) or path.name in IGNORED_NAMES:
        return None
    return path


def _common_folder(paths: list[PurePosixPath]) -> int:
    """1 when every file sits in the same top folder (a zipped folder), else 0."""
    tops = {p.parts[0] for p in paths if len(p.parts) > 1}
    return 1 if paths and len(tops) == 1 and all(len(p.parts) > 1 for p in paths) else 0


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, budget: int) -> bytes:
    limit = min(budget, info.file_size) + 1
    try:
        with archive.open(info) as stream:
            data = stream.read(limit)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
        raise BadRequest(f"{name}: {info.filename!r} cannot be read ({exc}): zip the folder again") from exc
    if len(data) > info.file_size or len(data) > budget:
        raise TooLarge(f"{name}: {info.filename!r} expands beyond its declared size (a zip bomb?); "
                       "zip the notebooks again")
    if len(data) > 1024 * 1024 and len(data) > MAX_RATIO * max(1, info.compress_size):
        raise TooLarge(f"{name}: {info.filename!r} expands {len(data) // max(1, info.compress_size)}x "
                       "(a zip bomb?); it was refused")
    return data


def _notebooks(settings: Settings, assessment: Assessment,
               entries: list[tuple[str, bytes]]) -> dict[str, bytes]:
    expected = {nb.filename for nb in assessment.notebooks}
    data_files = {str(PurePosixPath(p)) for p in assessment.data_files}
    notebooks: dict[str, bytes] = {}
    for path, data in entries:
        base = path.rsplit("/", 1)[-1]
        if path in data_files or base in {PurePosixPath(p).name for p in data_files}:
            continue  # the assessment's own data files, as released: the grader uses its copies
        if not base.lower().endswith(".ipynb"):
            raise Unprocessable(f"{path} is not a notebook: upload only the .ipynb files "
                                f"({', '.join(sorted(expected))}) or a zip of the folder")
        if base not in expected:
            raise Unprocessable(f"{path} is not a notebook of assessment {assessment.id}: "
                                f"expected {', '.join(sorted(expected))}")
        if base in notebooks:
            raise Unprocessable(f"{base} was uploaded twice: keep one copy")
        _check_notebook(settings, path, data)
        notebooks[base] = data
    if not notebooks:
        raise Unprocessable(f"the upload holds none of the assessment's notebooks: "
                            f"expected {', '.join(sorted(expected))}")
    return notebooks


def _check_notebook(settings: Settings, path: str, data: bytes) -> None:
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        why = "nested too deeply" if isinstance(exc, RecursionError) else f"not valid JSON: {exc}"
        raise Unprocessable(f"{path} is not a Jupyter notebook ({why}); "
                            "save it in Jupyter and upload it again") from exc
    if not isinstance(document, dict) or not isinstance(document.get("cells"), list) \
            or not isinstance(document.get("nbformat"), int):
        raise Unprocessable(f"{path} is not a Jupyter notebook (no cells or nbformat); "
                            "upload the .ipynb file you worked in")
    cells = document["cells"]
    if len(cells) > settings.upload_max_cells:
        raise TooLarge(f"{path} has {len(cells):,} cells, more than the {settings.upload_max_cells:,} "
                       "allowed: upload the assessment's notebook with only your answers added")
    outputs = sum(_size(c.get("outputs")) for c in cells if isinstance(c, dict))
    if outputs > settings.upload_max_output_bytes:
        raise TooLarge(f"{path} holds {_mib(outputs)} of saved outputs, more than the "
                       f"{_mib(settings.upload_max_output_bytes)} allowed: clear the outputs "
                       "(Edit > Clear Outputs of All Cells), save and upload again")


def _size(value: object) -> int:
    """The characters of the strings inside ``value`` (walked without recursion)."""
    total, stack = 0, [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return total


def store_upload(settings: Settings, assessment: Assessment, notebooks: dict[str, bytes]) -> StoredUpload:
    """Write accepted notebooks once under their content hash; the same content is not rewritten."""
    root = (settings.home / "uploads" / assessment.id).resolve()
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=root))
    try:
        for filename, data in notebooks.items():
            target = staging / filename
            target.write_bytes(data)
            target.chmod(0o444)
        digest = content_hash(staging, assessment)
        final = root / digest
        if not final.exists():
            try:
                os.rename(staging, final)
            except OSError:  # another process stored the same content first
                if not final.is_dir():
                    raise
        return StoredUpload(final, digest, tuple(sorted(notebooks)))
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
