"""Label text without a font at hand: an estimate of its width and truncation in the middle."""
from __future__ import annotations

# Advance widths in em of a Helvetica/Arial-like sans-serif, widened a little so wider system fonts
# (DejaVu Sans) still fit in the boxes sized from them.
_NARROW = dict.fromkeys("ijl.,:;|!'`", 0.25)
_THIN = dict.fromkeys("frtI/\\()[]{}- ", 0.36)
_WIDE = dict.fromkeys("mwMW", 0.88)
_WIDTHS = {**_NARROW, **_THIN, **_WIDE}
_SCALE = 1.12


def _em(ch: str) -> float:
    if ch in _WIDTHS:
        return _WIDTHS[ch]
    if ch.isupper() or ch in "@%&":
        return 0.70
    return 0.56


def text_width(text: str, size: float) -> float:
    """Estimated width in pixels of `text` at font size `size`."""
    return sum(_em(ch) for ch in text) * size * _SCALE


def truncate(text: str, max_chars: int) -> str:
    """`text`, or its start and end around an ellipsis: S3 URIs keep the bucket and the file name."""
    if len(text) <= max_chars:
        return text
    scheme, sep, rest = text.partition("://")
    if sep and "/" in rest:  # a URI: the bucket, an ellipsis and as many whole trailing parts as fit
        head = f"{scheme}://{rest.split('/', 1)[0]}"
        room = max_chars - len(head) - 1
        parts = text[len(head) + 1:].rstrip("/").split("/")
        end = "/" if text.endswith("/") else ""
        while parts and len(parts[-1]) + 1 + len(end) <= room:
            end = "/" + parts.pop() + end
        if end.strip("/") and len(head) <= max_chars * 0.6:
            return head + "…" + end
    keep = max(4, (max_chars - 1) * 2 // 5)
    return text[:max_chars - 1 - keep] + "…" + text[-keep:]
