"""Baking credentials into PNG and SVG badge images, and reading them back."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from PIL import Image

from credentials.baking import OB_SVG_NAMESPACE, bake, detect_kind, unbake
from credentials.errors import BakingError, CredentialError

DATA = Path(__file__).parent / "data"
CREDENTIAL: dict[str, Any] = {
    "@context": [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ],
    "id": "urn:uuid:2f6d4f3e-8f0c-4c71-9b4e-0d7a1c3f0b11",
    "type": ["VerifiableCredential", "OpenBadgeCredential"],
    "name": "Données & <pandas> ]]> </openbadges:credential>",
    "proof": {"type": "DataIntegrityProof", "proofValue": "z3FXQ"},
}
JWS = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"


def make_png(*, with_text: bool = False) -> bytes:
    image = Image.new("RGBA", (32, 32), (10, 120, 200, 255))
    out = io.BytesIO()
    if with_text:
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        info.add_text("Comment", "made for tests")
        image.save(out, format="PNG", pnginfo=info)
    else:
        image.save(out, format="PNG")
    return out.getvalue()


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """An independent chunk walker for the assertions."""
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        ctype = data[pos + 4 : pos + 8]
        chunks.append((ctype, data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return chunks


# --- PNG -----------------------------------------------------------------------------------------


def test_png_round_trip_json_and_pillow_still_opens_it() -> None:
    baked = bake(CREDENTIAL, make_png(with_text=True))
    assert unbake(baked) == CREDENTIAL
    with Image.open(io.BytesIO(baked)) as image:
        image.load()
        assert image.size == (32, 32)
        assert image.text["openbadgecredential"].startswith("{")
        assert image.text["Comment"] == "made for tests"
    chunks = png_chunks(baked)
    itxt = [data for ctype, data in chunks if ctype == b"iTXt"]
    assert len(itxt) == 1
    assert itxt[0].startswith(b"openbadgecredential\x00\x00\x00")  # flag 0: uncompressed
    assert [c for c, _ in chunks][-2:] == [b"iTXt", b"IEND"]


def test_png_rebake_replaces_the_credential() -> None:
    once = bake(CREDENTIAL, make_png())
    twice = bake(JWS, once)
    assert [c for c, _ in png_chunks(twice)].count(b"iTXt") == 1
    assert unbake(twice) == JWS


def test_png_reads_a_compressed_itxt_written_by_another_tool() -> None:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_itxt("openbadgecredential", JWS, zip=True)
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, format="PNG", pnginfo=info)
    assert unbake(out.getvalue()) == JWS


def test_png_with_bad_crc_is_refused() -> None:
    png = bytearray(make_png())
    png[20] ^= 0xFF  # inside IHDR data
    with pytest.raises(BakingError, match="bad CRC"):
        bake(CREDENTIAL, bytes(png))
    with pytest.raises(BakingError, match="bad CRC"):
        unbake(bytes(png))


def test_png_truncated_is_refused() -> None:
    with pytest.raises(BakingError, match="corrupt PNG"):
        unbake(make_png()[:-20])


def test_png_without_credential() -> None:
    with pytest.raises(BakingError, match="no Open Badges credential"):
        unbake(make_png())


def test_png_itxt_with_garbage_text() -> None:
    data = b"openbadgecredential\x00\x00\x00\x00\x00not json"
    chunk = struct.pack(">I", len(data)) + b"iTXt" + data + struct.pack(">I", zlib.crc32(b"iTXt" + data))
    png = make_png()
    iend = png.rindex(b"IEND") - 4
    with pytest.raises(BakingError, match="neither JSON nor a compact JWS"):
        unbake(png[:iend] + chunk + png[iend:])


# --- SVG -----------------------------------------------------------------------------------------


def test_svg_round_trip_json() -> None:
    original = (DATA / "badge.svg").read_bytes()
    baked = bake(CREDENTIAL, original)
    assert unbake(baked) == CREDENTIAL
    root = ElementTree.fromstring(baked)
    first = root[0]
    assert first.tag == f"{{{OB_SVG_NAMESPACE}}}credential"
    text = baked.decode()
    assert f'xmlns:openbadges="{OB_SVG_NAMESPACE}"' in text
    assert "<![CDATA[" in text
    # the rest of the image is untouched: comment, xlink prefix, entities
    assert "<!-- Badge artwork for tests" in text
    assert 'xlink:href="#g"' in text
    assert "pandas &amp; tidy" in text
    assert root.find("{http://www.w3.org/2000/svg}circle") is not None


def test_svg_round_trip_jws_uses_verify_attribute() -> None:
    baked = bake(JWS, (DATA / "badge.svg").read_bytes())
    element = ElementTree.fromstring(baked)[0]
    assert element.get("verify") == JWS
    assert unbake(baked) == JWS


def test_svg_rebake_replaces_the_credential() -> None:
    once = bake(CREDENTIAL, (DATA / "badge.svg").read_bytes())
    twice = bake({**CREDENTIAL, "name": "second"}, once)
    root = ElementTree.fromstring(twice)
    assert len(root.findall(f"{{{OB_SVG_NAMESPACE}}}credential")) == 1
    assert unbake(twice)["name"] == "second"  # type: ignore[index]
    assert twice.decode().count("xmlns:openbadges") == 1


def test_svg_self_closing_root() -> None:
    baked = bake(JWS, b'<svg xmlns="http://www.w3.org/2000/svg" width="1"/>')
    assert unbake(baked) == JWS
    assert ElementTree.fromstring(baked).get("width") == "1"


@pytest.mark.parametrize("name", ["xxe.svg", "billion-laughs.svg"])
def test_hostile_svg_is_refused(name: str) -> None:
    hostile = (DATA / name).read_bytes()
    with pytest.raises(BakingError, match="DTD or entities"):
        bake(CREDENTIAL, hostile)
    with pytest.raises(BakingError, match="DTD or entities"):
        unbake(hostile)


def test_svg_without_credential_and_malformed_svg() -> None:
    with pytest.raises(BakingError, match="no Open Badges credential"):
        unbake((DATA / "badge.svg").read_bytes())
    with pytest.raises(BakingError, match="not well-formed"):
        unbake(b"<svg xmlns='http://www.w3.org/2000/svg'><g></svg>")


# --- kinds and inputs ----------------------------------------------------------------------------


def test_other_images_are_refused() -> None:
    with pytest.raises(BakingError, match="neither a PNG nor an SVG"):
        bake(CREDENTIAL, b"\xff\xd8\xff\xe0 JFIF jpeg bytes")
    with pytest.raises(BakingError, match="neither a PNG nor an SVG"):
        unbake(b"GIF89a")
    assert detect_kind(make_png()) == "png"
    assert detect_kind((DATA / "badge.svg").read_bytes()) == "svg"
    assert issubclass(BakingError, CredentialError)


def test_bad_credential_text_is_refused() -> None:
    with pytest.raises(BakingError, match="neither JSON nor a compact JWS"):
        bake("hello world", make_png())
    assert unbake(bake(' {"id": "urn:x:1"} ', make_png())) == {"id": "urn:x:1"}


# --- CLI -----------------------------------------------------------------------------------------


def test_cli_bake_and_unbake(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from nbcred.cli.credential import app

    runner = CliRunner()
    cred_file = tmp_path / "cred.json"
    cred_file.write_text(json.dumps(CREDENTIAL), encoding="utf-8")
    png = tmp_path / "badge.png"
    png.write_bytes(make_png())
    out = tmp_path / "baked.png"
    result = runner.invoke(app, ["bake", str(cred_file), str(png), "-o", str(out)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["unbake", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == CREDENTIAL

    jwt_file = tmp_path / "cred.jwt"
    jwt_file.write_text(JWS + "\n", encoding="utf-8")
    svg_out = tmp_path / "baked.svg"
    result = runner.invoke(app, ["bake", str(jwt_file), str(DATA / "badge.svg"), "-o", str(svg_out)])
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["unbake", str(svg_out)]).stdout.strip() == JWS

    result = runner.invoke(app, ["unbake", str(png)])
    assert result.exit_code == 2  # bad input: no credential in the image
    assert "no Open Badges credential" in result.output
