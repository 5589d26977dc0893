"""Unpacking a release never overwrites the learner's work nor writes outside the folder; uploads are
the released notebooks; the fetched feedback links to the wallet and the badge."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from nbcred.jupyter.errors import ServiceFailed
from nbcred.jupyter.feedback import with_links
from nbcred.jupyter.files import select_uploads, unpack_release


def zipped(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_release_in_a_folder_named_after_the_assessment_is_unpacked_flat(tmp_path: Path) -> None:
    data = zipped({"ps1/problem1.ipynb": b"nb", "ps1/data/x.csv": b"1,2"})
    unpacked = unpack_release(data, dest=tmp_path / "ps1", assessment_id="ps1")
    assert (tmp_path / "ps1" / "problem1.ipynb").read_bytes() == b"nb"
    assert (tmp_path / "ps1" / "data" / "x.csv").read_bytes() == b"1,2"
    assert sorted(unpacked.written) == ["data/x.csv", "problem1.ipynb"]
    assert [p.name for p in tmp_path.iterdir()] == ["ps1"]  # no scratch folder left behind


def test_fetching_again_only_restores_missing_files(tmp_path: Path) -> None:
    dest = tmp_path / "ps1"
    dest.mkdir()
    (dest / "problem1.ipynb").write_bytes(b"my answers")
    unpacked = unpack_release(zipped({"problem1.ipynb": b"blank", "orders.csv": b"a"}), dest=dest,
                              assessment_id="ps1")
    assert (dest / "problem1.ipynb").read_bytes() == b"my answers"
    assert unpacked.kept == ("problem1.ipynb",) and unpacked.written == ("orders.csv",)


@pytest.mark.parametrize("name", ["../evil.py", "/etc/evil", "ps1/../../evil"])
def test_entries_outside_the_folder_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ServiceFailed, match="unsafe path"):
        unpack_release(zipped({name: b"x", "ok.ipynb": b"y"}), dest=tmp_path / "ps1", assessment_id="ps1")
    assert not (tmp_path / "ps1").exists() and not (tmp_path.parent / "evil.py").exists()


def test_a_release_that_is_not_a_zip_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ServiceFailed, match="not a zip"):
        unpack_release(b"<html>", dest=tmp_path / "ps1", assessment_id="ps1")


def test_uploads_are_the_released_notebooks(tmp_path: Path) -> None:
    (tmp_path / "problem1.ipynb").write_text("{}")
    (tmp_path / "scratch.ipynb").write_text("{}")
    (tmp_path / "notes.txt").write_text("x")
    selection = select_uploads(tmp_path, notebooks=("problem1", "problem2"))
    assert [u.name for u in selection.uploads] == ["problem1.ipynb"]
    assert selection.missing == ("problem2.ipynb",) and selection.extra == ("scratch.ipynb",)


def test_feedback_gets_one_bar_of_absolute_links_at_the_top_of_the_body() -> None:
    page = "<html><head><title>t</title></head><body class='x'><h1>Feedback</h1></body></html>"
    linked = with_links(page, wallet_url="http://svc/wallet", badge_url="http://svc/credentials/a&b",
                        submission_url="http://svc/submissions/7")
    body = linked.split("<body class='x'>", 1)[1]
    assert body.startswith('<nav class="nbcred-links"')
    assert 'href="http://svc/wallet"' in body and 'href="http://svc/credentials/a&amp;b"' in body
    assert body.index("nbcred-links") < body.index("<h1>Feedback")
    assert with_links(linked, wallet_url="http://svc/wallet", badge_url=None) == linked


def test_feedback_without_a_badge_links_the_wallet_only() -> None:
    linked = with_links("<p>no body tag</p>", wallet_url="http://svc/wallet", badge_url=None)
    assert linked.startswith("<nav") and "wallet" in linked and "badge for" not in linked
