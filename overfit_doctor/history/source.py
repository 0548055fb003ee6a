"""Reading log files as text: any encoding, any line ending."""

from __future__ import annotations

from pathlib import Path

HEAD_BYTES = 16384


def decode(data: bytes) -> str:
    """Bytes to text with `\\n` line ends; UTF-8 (with or without BOM), else Latin-1."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return text.replace("\r\r\n", "\n").replace("\r\n", "\n")


def read_text(path: Path) -> str:
    return decode(path.read_bytes())


def read_head(path: Path, size: int = HEAD_BYTES) -> str:
    """The first bytes of a file as text, for format sniffing."""
    with path.open("rb") as fh:
        return decode(fh.read(size))


def looks_binary(head_bytes: bytes) -> bool:
    """True for data that is not text (NUL bytes or many control characters)."""
    if not head_bytes:
        return False
    if b"\x00" in head_bytes:
        return True
    control = sum(b < 32 and b not in (9, 10, 13, 12, 8) for b in head_bytes)
    return control / len(head_bytes) > 0.05
