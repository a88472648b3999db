"""The media type of stored audio, read from its first bytes.

An upload's ``Content-Type`` is whatever the client said (any string, ``text/html`` included), so
audio is served with the type its bytes show, for the containers ``pipelines.audio`` accepts;
anything else is ``application/octet-stream``, which no browser renders as a page.
"""

from __future__ import annotations

HEAD_BYTES = 64
"""How much of the start of a file ``media_type`` needs (a WebM header names its doctype
within its first 40 bytes)."""
UNKNOWN = "application/octet-stream"


def media_type(head: bytes) -> str:
    """The media type of a file that starts with ``head`` (its first ``HEAD_BYTES``)."""
    if head[:4] in (b"RIFF", b"RF64", b"BW64") and head[8:12] == b"WAVE":
        # RF64 (EBU Tech 3306) and BW64 (ITU-R BS.2088): WAVE past 4 GiB, as field recorders
        # and broadcast tools write it.
        return "audio/wav"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "audio/aiff"
    if head[:4] == b"OggS":
        return "audio/ogg"
    if head[:4] == b"fLaC":
        return "audio/flac"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "audio/webm" if b"webm" in head else "audio/x-matroska"
    if head[4:8] == b"ftyp":
        return "audio/mp4"
    if head[:4] == b"caff":
        return "audio/x-caf"
    if head[:5] == b"#!AMR":
        return "audio/amr"
    if head[:3] == b"ID3":
        return "audio/mpeg"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        # MPEG audio frame sync; layer bits 00 are AAC in ADTS framing.
        return "audio/aac" if head[1] & 0x06 == 0 else "audio/mpeg"
    return UNKNOWN


MEDIA_TYPES = (
    "audio/wav",
    "audio/aiff",
    "audio/ogg",
    "audio/flac",
    "audio/webm",
    "audio/x-matroska",
    "audio/mp4",
    "audio/x-caf",
    "audio/amr",
    "audio/mpeg",
    "audio/aac",
    UNKNOWN,
)
"""Every answer ``media_type`` gives."""
