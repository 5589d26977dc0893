"""Baking: embed an Open Badges 3.0 credential in a PNG or SVG badge image, and take it out again.

PNG: one uncompressed ``iTXt`` chunk with keyword ``openbadgecredential`` before ``IEND``.
SVG: an ``openbadges:credential`` element (namespace ``https://purl.imsglobal.org/ob/v3p0``) as
the first child of ``<svg>``; JSON goes in CDATA, a compact JWS in the ``verify`` attribute.
Re-baking replaces an existing credential. SVG is parsed with defusedxml and documents with a DTD
or entity declarations are refused.

Reading is bounded: an image larger than :data:`MAX_IMAGE_BYTES` is refused, a compressed iTXt
chunk is inflated at most to :data:`MAX_CREDENTIAL_BYTES` (a stream that would give more is
refused without inflating the rest), and an SVG nested deeper than :data:`MAX_SVG_DEPTH` or with
more than :data:`MAX_SVG_ELEMENTS` elements is refused before its tree is built.
"""

from __future__ import annotations

import io
import json
import re
import struct
import zlib
from typing import Any, Literal
from xml.etree.ElementTree import Element, ParseError
from xml.parsers import expat

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from credentials.errors import BakingError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_KEYWORD = b"openbadgecredential"
OB_SVG_NAMESPACE = "https://purl.imsglobal.org/ob/v3p0"
SVG_NAMESPACE = "http://www.w3.org/2000/svg"
_CREDENTIAL_TAG = f"{{{OB_SVG_NAMESPACE}}}credential"
_JWS = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+$")

MAX_IMAGE_BYTES = 16 * 1024 * 1024
MAX_CREDENTIAL_BYTES = 2 * 1024 * 1024
MAX_SVG_DEPTH = 256
MAX_SVG_ELEMENTS = 100_000

ImageKind = Literal["png", "svg"]
Credential = dict[str, Any] | str


def bake(credential: Credential, image: bytes, *, kind: ImageKind | None = None) -> bytes:
    """Return ``image`` with ``credential`` (a JSON object or a compact JWS) embedded in it."""
    text = _credential_text(credential)
    kind = kind or detect_kind(image)
    if kind == "png":
        return _bake_png(text, image)
    if kind == "svg":
        return _bake_svg(text, image, is_jws=not isinstance(credential, dict) and _is_jws(text))
    raise BakingError(f"unknown image kind {kind!r}: use 'png' or 'svg'")


def unbake(image: bytes) -> Credential:
    """Return the credential baked into a PNG or SVG: a dict for JSON, a str for a compact JWS."""
    if len(image) > MAX_IMAGE_BYTES:
        raise BakingError(f"the image is larger than {MAX_IMAGE_BYTES // 2**20} MiB; badges are small")
    kind = detect_kind(image)
    text = _unbake_png(image) if kind == "png" else _unbake_svg(image)
    return _parse_credential_text(text)


def detect_kind(image: bytes) -> ImageKind:
    """Tell PNG from SVG by content (not file name); anything else is refused."""
    if image.startswith(PNG_SIGNATURE):
        return "png"
    head = image[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<") and re.search(rb"<(?:[A-Za-z_][\w.-]*:)?svg[\s>/]", image):
        return "svg"
    raise BakingError(
        "the image is neither a PNG nor an SVG; badges can only be baked into .png or .svg files"
    )


# --- credential text -----------------------------------------------------------------------------


def _is_jws(text: str) -> bool:
    return bool(_JWS.match(text))


def _credential_text(credential: Credential) -> str:
    if isinstance(credential, dict):
        return json.dumps(credential, ensure_ascii=False, separators=(",", ":"))
    if not isinstance(credential, str):
        raise BakingError("the credential must be a JSON object (dict) or a compact JWS string")
    text = credential.strip()
    if _is_jws(text):
        return text
    if text.startswith("{"):
        return json.dumps(_parse_credential_text(text), ensure_ascii=False, separators=(",", ":"))
    raise BakingError(
        "the credential text is neither JSON nor a compact JWS (header.payload.signature)"
    )


def _parse_credential_text(text: str) -> Credential:
    text = text.strip()
    if _is_jws(text):
        return text
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BakingError(f"the baked credential is neither JSON nor a compact JWS: {exc}") from exc
    if not isinstance(value, dict):
        raise BakingError("the baked credential JSON is not an object")
    return value


# --- PNG -----------------------------------------------------------------------------------------


def _png_chunks(image: bytes) -> list[tuple[bytes, bytes]]:
    """Split a PNG into (type, data) chunks, checking every CRC; stops after IEND."""
    if not image.startswith(PNG_SIGNATURE):
        raise BakingError("not a PNG file (bad signature)")
    chunks: list[tuple[bytes, bytes]] = []
    pos = len(PNG_SIGNATURE)
    while pos < len(image):
        if pos + 8 > len(image):
            raise BakingError("corrupt PNG: truncated chunk header; re-export the image")
        length, ctype = struct.unpack(">I4s", image[pos : pos + 8])
        end = pos + 8 + length
        if end + 4 > len(image):
            raise BakingError(f"corrupt PNG: chunk {ctype!r} is truncated; re-export the image")
        data = image[pos + 8 : end]
        (crc,) = struct.unpack(">I", image[end : end + 4])
        if zlib.crc32(ctype + data) != crc:
            raise BakingError(f"corrupt PNG: chunk {ctype!r} has a bad CRC; re-export the image")
        chunks.append((ctype, data))
        pos = end + 4
        if ctype == b"IEND":
            return chunks
    raise BakingError("corrupt PNG: no IEND chunk; re-export the image")


def _chunk_bytes(ctype: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data))


def _itxt_keyword(data: bytes) -> bytes:
    return data.split(b"\x00", 1)[0]


def _bake_png(text: str, image: bytes) -> bytes:
    chunks = _png_chunks(image)
    # keyword, NUL, compression flag 0, method 0, empty language tag + NUL, empty translated
    # keyword + NUL, then the UTF-8 text (uncompressed).
    itxt = PNG_KEYWORD + b"\x00\x00\x00" + b"\x00" + b"\x00" + text.encode("utf-8")
    out = io.BytesIO()
    out.write(PNG_SIGNATURE)
    for ctype, data in chunks:
        if ctype == b"iTXt" and _itxt_keyword(data) == PNG_KEYWORD:
            continue
        if ctype == b"IEND":
            out.write(_chunk_bytes(b"iTXt", itxt))
        out.write(_chunk_bytes(ctype, data))
    return out.getvalue()


def _unbake_png(image: bytes) -> str:
    for ctype, data in _png_chunks(image):
        if ctype == b"iTXt" and _itxt_keyword(data) == PNG_KEYWORD:
            return _itxt_text(data)
    raise BakingError(
        "this PNG carries no Open Badges credential (no iTXt chunk 'openbadgecredential')"
    )


def _itxt_text(data: bytes) -> str:
    try:
        _keyword, rest = data.split(b"\x00", 1)
        flag, method = rest[0], rest[1]
        _language, rest = rest[2:].split(b"\x00", 1)
        _translated, payload = rest.split(b"\x00", 1)
        if flag == 1:
            if method != 0:
                raise BakingError(f"iTXt compression method {method} is not supported")
            payload = _inflate(payload)
        return payload.decode("utf-8")
    except (ValueError, IndexError, zlib.error, UnicodeDecodeError) as exc:
        raise BakingError(
            f"corrupt PNG: the openbadgecredential iTXt chunk is malformed: {exc}"
        ) from exc


def _inflate(payload: bytes) -> bytes:
    """zlib-inflate at most :data:`MAX_CREDENTIAL_BYTES` (a bomb is refused, not inflated)."""
    inflater = zlib.decompressobj()
    text = inflater.decompress(payload, MAX_CREDENTIAL_BYTES + 1)
    if len(text) > MAX_CREDENTIAL_BYTES or inflater.unconsumed_tail:
        raise BakingError(f"the credential in this PNG inflates to more than "
                          f"{MAX_CREDENTIAL_BYTES // 2**20} MiB (larger than any credential); refused")
    if not inflater.eof:
        raise BakingError("corrupt PNG: the compressed openbadgecredential iTXt chunk is truncated")
    return text


# --- SVG -----------------------------------------------------------------------------------------


def _check_svg_shape(image: bytes) -> None:
    """Refuse an SVG nested too deep or with too many elements, before building its tree.

    A bare expat pass (no tree), stopped at the first excess; a DTD stops it at once, before any
    entity could expand (defusedxml then refuses the document with its own message).
    """
    parser = expat.ParserCreate()
    depth = [0, 0]  # current depth, elements seen

    def start(_name: str, _attributes: Any) -> None:
        depth[0] += 1
        depth[1] += 1
        if depth[0] > MAX_SVG_DEPTH:
            raise BakingError(f"refusing this SVG: its elements are nested more than {MAX_SVG_DEPTH} deep")
        if depth[1] > MAX_SVG_ELEMENTS:
            raise BakingError(f"refusing this SVG: it has more than {MAX_SVG_ELEMENTS} elements")

    def end(_name: str) -> None:
        depth[0] -= 1

    def doctype(*_args: Any) -> None:
        raise _DoctypeFound

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    try:
        parser.Parse(image, True)
    except (_DoctypeFound, expat.ExpatError):
        return  # the full parse below refuses it with the precise reason


class _DoctypeFound(Exception):
    pass


def _parse_svg(image: bytes) -> Element:
    try:
        _check_svg_shape(image)
        root: Element = SafeET.fromstring(
            image, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException as exc:
        raise BakingError(
            f"refusing this SVG: it declares a DTD or entities ({type(exc).__name__}); "
            "remove the <!DOCTYPE ...> from the file"
        ) from exc
    except ParseError as exc:
        raise BakingError(f"the SVG is not well-formed XML: {exc}") from exc
    if root.tag not in (f"{{{SVG_NAMESPACE}}}svg", "svg"):
        raise BakingError(f"the XML root element is {root.tag!r}, not <svg>")
    return root


def _svg_text(image: bytes) -> str:
    try:
        return image.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BakingError("only UTF-8 encoded SVG files can be baked; re-save it as UTF-8") from exc


def _bake_svg(text: str, image: bytes, *, is_jws: bool) -> bytes:
    _parse_svg(image)
    source = _remove_svg_credentials(_svg_text(image))
    start, end, self_closing = _root_start_tag(source)
    tag = source[start:end]
    declared = re.search(r"""\sxmlns:openbadges\s*=\s*(["'])(.*?)\1""", tag)
    if declared and declared.group(2) != OB_SVG_NAMESPACE:
        raise BakingError("the SVG binds the prefix 'openbadges' to another namespace")
    if not declared:
        insert_at = len(tag) - (2 if self_closing else 1)
        tag = f'{tag[:insert_at]} xmlns:openbadges="{OB_SVG_NAMESPACE}"{tag[insert_at:]}'
    element = _credential_element(text, is_jws=is_jws)
    if self_closing:
        name = re.match(r"<([^\s/>]+)", tag)
        assert name is not None
        tag = tag[:-2].rstrip() + ">"
        baked = source[:start] + tag + element + f"</{name.group(1)}>" + source[end:]
    else:
        baked = source[:start] + tag + element + source[end:]
    result = baked.encode("utf-8")
    _parse_svg(result)
    return result


def _credential_element(text: str, *, is_jws: bool) -> str:
    if is_jws:
        return f'\n<openbadges:credential verify="{text}"></openbadges:credential>'
    # "<\/" is a valid JSON escape; it keeps "</" (and so a closing tag) out of the CDATA.
    cdata = text.replace("</", "<\\/").replace("]]>", "]]]]><![CDATA[>")
    return f"\n<openbadges:credential><![CDATA[{cdata}]]></openbadges:credential>"


def _root_start_tag(source: str) -> tuple[int, int, bool]:
    """Return (start, end, self_closing) of the root element's start tag."""
    pos = 0
    while True:
        lt = source.find("<", pos)
        if lt < 0:
            raise BakingError("the SVG has no root element")
        if source.startswith("<?", lt):
            pos = source.index("?>", lt) + 2
        elif source.startswith("<!--", lt):
            pos = source.index("-->", lt) + 3
        elif source.startswith("<!", lt):
            raise BakingError("refusing this SVG: it has a DOCTYPE declaration")
        else:
            break
    quote = ""
    for i in range(lt + 1, len(source)):
        ch = source[i]
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == ">":
            return lt, i + 1, source[i - 1] == "/"
    raise BakingError("the SVG root start tag is not closed")


def _credential_prefixes(source: str) -> set[str]:
    prefixes: set[str] = set()
    try:
        for _event, (prefix, uri) in SafeET.iterparse(
            io.BytesIO(source.encode("utf-8")),
            events=("start-ns",),
            forbid_dtd=True,
            forbid_entities=True,
            forbid_external=True,
        ):
            if uri == OB_SVG_NAMESPACE:
                prefixes.add(prefix)
    except (DefusedXmlException, ParseError) as exc:
        raise BakingError(f"the SVG cannot be parsed safely: {exc}") from exc
    return prefixes


def _remove_svg_credentials(source: str) -> str:
    """Remove existing credential elements (any prefix bound to the OB namespace)."""
    for prefix in _credential_prefixes(source):
        name = re.escape(f"{prefix}:credential" if prefix else "credential")
        pattern = re.compile(rf"\s*<{name}(?:\s[^>]*?)?(?:/>|>.*?</{name}\s*>)", re.DOTALL)
        source = pattern.sub("", source)
    if _CREDENTIAL_TAG in {e.tag for e in _parse_svg(source.encode("utf-8")).iter()}:
        raise BakingError(
            "the SVG already holds a credential element that cannot be removed safely; "
            "bake into the original (unbaked) image instead"
        )
    return source


def _unbake_svg(image: bytes) -> str:
    root = _parse_svg(image)
    for element in root.iter(_CREDENTIAL_TAG):
        verify = element.get("verify")
        if verify:
            return verify
        text = "".join(element.itertext()).strip()
        if text:
            return text
    raise BakingError(
        "this SVG carries no Open Badges credential (no <openbadges:credential> element)"
    )
