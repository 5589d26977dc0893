"""Files on the learner's side: unpacking a released assessment and choosing what to upload."""

from __future__ import annotations

import io
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from nbcred.jupyter.client import Upload
from nbcred.jupyter.errors import ServiceFailed

MAX_RELEASE_BYTES = 200 * 1024 * 1024  # expanded size of a release zip we are willing to write


@dataclass(frozen=True)
class Unpacked:
    """What fetching wrote: the files created (relative to the assessment folder) and those kept."""

    written: tuple[str, ...]
    kept: tuple[str, ...]


@dataclass(frozen=True)
class Selection:
    """The notebooks to submit, and how the folder differs from what was released."""

    uploads: tuple[Upload, ...]
    missing: tuple[str, ...]
    extra: tuple[str, ...]


def unpack_release(data: bytes, *, dest: Path, assessment_id: str) -> Unpacked:
    """Write the release zip into ``dest``, never overwriting a file the learner already has.

    A zip whose entries all sit in one folder named after the assessment is unpacked without that
    folder. Entries that would land outside ``dest`` (absolute paths, ``..``) are refused.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ServiceFailed(f"the service sent a release of {assessment_id} that is not a zip file") from exc
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        if sum(m.file_size for m in members) > MAX_RELEASE_BYTES:
            raise ServiceFailed(f"the release of {assessment_id} expands to more than "
                                f"{MAX_RELEASE_BYTES // (1024 * 1024)} MB; ask your instructor")
        names = [_safe_name(m.filename, assessment_id) for m in members]
        prefix = _common_folder(names, assessment_id)
        dest.parent.mkdir(parents=True, exist_ok=True)
        written: list[str] = []
        kept: list[str] = []
        with tempfile.TemporaryDirectory(prefix=".nbcred-fetch-", dir=dest.parent) as scratch:
            staged = Path(scratch) / "release"
            for member, name in zip(members, names, strict=True):
                relative = PurePosixPath(*name.parts[prefix:])
                target = staged.joinpath(*relative.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(member) as source, target.open("wb") as sink:
                    shutil.copyfileobj(source, sink)
            if not dest.exists():
                staged.rename(dest)
                return Unpacked(tuple(sorted(str(p.relative_to(dest)) for p in dest.rglob("*")
                                             if p.is_file())), ())
            for path in sorted(p for p in staged.rglob("*") if p.is_file()):
                relative_path = path.relative_to(staged)
                target = dest / relative_path
                if target.exists():
                    kept.append(str(relative_path))
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
                written.append(str(relative_path))
    return Unpacked(tuple(written), tuple(kept))


def _safe_name(name: str, assessment_id: str) -> PurePosixPath:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise ServiceFailed(f"the release of {assessment_id} holds an unsafe path {name!r}; "
                            "ask your instructor")
    return path


def _common_folder(names: list[PurePosixPath], assessment_id: str) -> int:
    """1 when every entry sits inside a folder named after the assessment, else 0."""
    if names and all(len(n.parts) > 1 and n.parts[0] == assessment_id for n in names):
        return 1
    return 0


def select_uploads(folder: Path, *, notebooks: tuple[str, ...]) -> Selection:
    """The released notebooks found in ``folder`` (by stem), and which are missing or extra.

    When the catalogue does not list the notebooks, every ``*.ipynb`` at the top of the folder is sent.
    """
    present = {p.stem: p for p in sorted(folder.glob("*.ipynb")) if p.is_file()}
    wanted = notebooks or tuple(present)
    uploads = tuple(Upload(present[s].name, present[s].read_bytes()) for s in wanted if s in present)
    missing = tuple(f"{stem}.ipynb" for stem in wanted if stem not in present)
    extra = tuple(f"{stem}.ipynb" for stem in present if stem not in wanted)
    return Selection(uploads, missing, extra)
