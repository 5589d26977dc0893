"""PyPI's ``openbadgeslib`` (an independent Python implementation) on what ``nbcred demo`` issues.

It verifies Data Integrity ``eddsa-rdfc-2022`` proofs, so every badge and stacked certificate is
checked by it in its JSON form and baked into SVG and PNG, against the issuer's key (trusted) and
by resolving the issuer's did:key. Its status check supports only one-bit entries and fails
closed on nbcred's two-bit message entries (``statusSize`` 2); that is asserted here so the
README's statement stays true. It does not verify CLRs.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from PIL import Image

from credentials.baking import bake

openbadgeslib = pytest.importorskip("openbadgeslib", reason="install the dev extra: pip install -e '.[dev]'")
from openbadgeslib.ob3 import OB3LdpVerifier  # noqa: E402
from openbadgeslib.verify import verify_badge  # noqa: E402

pytestmark = pytest.mark.slow


def issuer_pem(demo_run: Any, tmp_path: Path) -> bytes:
    from nbcred.issuance.identity import load_identity
    from nbcred.settings import Settings

    home = tmp_path / "home"
    shutil.copytree(demo_run.home / "keys", home / "keys")
    raw = load_identity(Settings(home=home)).key.public.raw
    public = Ed25519PublicKey.from_public_bytes(raw)
    return public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


def badges(demo_run: Any) -> list[Path]:
    assert demo_run.returncode == 0, demo_run.stderr[-3000:]
    found = sorted((demo_run.home / "credentials").rglob("*.svg"))
    assert len(found) >= 5
    return found


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), "teal").save(out, format="PNG")
    return out.getvalue()


def test_openbadgeslib_verifies_every_badge_json_svg_and_png(demo_run: Any, tmp_path: Path) -> None:
    pem = issuer_pem(demo_run, tmp_path)
    for svg in badges(demo_run):
        document = json.loads(svg.with_suffix(".json").read_text())
        credential = OB3LdpVerifier(pubkey_pem=pem).verify(json.dumps(document))
        assert credential.id == document["id"]
        for image in (svg.read_bytes(), bake(document, png())):
            trusted = verify_badge(image, pubkey_pem=pem)
            assert trusted.valid and trusted.trusted and trusted.proof_format == "ldp", trusted.reason
            resolved = verify_badge(image, resolve_did=True)  # did:key: valid, self-asserted
            assert resolved.valid and not resolved.trusted, resolved.reason


def test_openbadgeslib_rejects_a_tampered_baked_badge(demo_run: Any, tmp_path: Path) -> None:
    pem = issuer_pem(demo_run, tmp_path)
    document = json.loads(badges(demo_run)[0].with_suffix(".json").read_text())
    document["name"] = "Forged"
    result = verify_badge(bake(document, png()), pubkey_pem=pem)
    assert not result.valid


def test_openbadgeslib_status_check_refuses_two_bit_entries(demo_run: Any, tmp_path: Path) -> None:
    pem = issuer_pem(demo_run, tmp_path)
    status_list = demo_run.home / "public" / "status" / "message" / "1"
    result = verify_badge(badges(demo_run)[0].read_bytes(), pubkey_pem=pem, check_status=True,
                          download=lambda url: status_list.read_bytes())
    assert not result.valid
    assert "unsupported statusSize 2" in str(result.reason)
