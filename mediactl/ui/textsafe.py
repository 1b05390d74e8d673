"""Making text safe to show: server text and file names can carry terminal control sequences.

A leaf module: it imports nothing of mediactl's, so every layer (the context's stderr notes, the HTTP log,
the renderers) can use it without an import cycle.
"""

from __future__ import annotations


def printable(text: str) -> str:
    """Text safe to write as UTF-8: bytes of undecodable file names (surrogate escapes) become U+FFFD."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


_ONE_LINE = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _caret(char: str) -> str:
    """Caret notation, as gh's asciisanitizer shows controls: ESC -> ^[, DEL -> ^?, C1 CSI (U+009B) -> ^[[."""
    code = ord(char)
    if code < 0x20:
        return "^" + chr(code + 0x40)
    if code == 0x7F:
        return "^?"
    return "^[" + chr(code - 0x40)  # C1: the 7-bit form is ESC followed by code - 0x40


_CONTROLS = {code: _caret(chr(code)) for code in [*range(0x20), 0x7F, *range(0x80, 0xA0)]}
_CONTROLS_KEEP_LINES = {k: v for k, v in _CONTROLS.items() if chr(k) not in "\t\n"}
_CONTROLS_ONE_LINE = {**_CONTROLS, **{ord(k): v for k, v in _ONE_LINE.items()}}


def sanitize(text: str, *, one_line: bool = False) -> str:
    """Text from a server or a file name, made safe to show people: control characters can no longer drive
    the terminal (set its title, clear the screen, write the clipboard); they are shown escaped instead.

    one_line: tabs and newlines become `\\t`/`\\n` too, so a field stays one field of one row (plain, -q,
    one-line messages); otherwise they are kept (table cells wrap).
    """
    return printable(text).translate(_CONTROLS_ONE_LINE if one_line else _CONTROLS_KEEP_LINES)
