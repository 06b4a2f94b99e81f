"""How the Pegasus shell reads and prints binary keys and values.

Facts from upstream's shell (``sdssplitargs`` for input, ``pegasus::utils::c_escape_string``
for output), which we follow byte for byte:

Input: a command line splits at blanks into arguments. Inside double quotes ``\\xHH`` is one
byte (two hex digits, either case), ``\\n \\r \\t \\b \\a`` are the control characters, and
a backslash before any other character stands for that character (``\\" \\\\ \\'``). Inside
single quotes everything is literal except ``\\'``. Outside quotes a backslash is an
ordinary character. A closing quote must be followed by a blank or the end of the line;
an unbalanced quote is an error. ``""`` is an empty argument (an empty sort key).

Output: ``\\n \\r \\t \\" \\' \\\\`` as two characters, every other byte outside printable
ASCII (0x20..0x7E) as ``\\xHH`` with upper-case hex; with ``escape_all`` every byte as
``\\xHH``. Printed between double quotes, the result reads back as the same bytes.

``c_unescape`` is upstream's ``c_unescape_string``: the inverse of ``c_escape``, stricter
than the command-line reader (unknown escapes and raw non-printable characters fail).
"""

from __future__ import annotations

_HEX = "0123456789abcdefABCDEF"
_QUOTED_ESCAPES = {"n": b"\n", "r": b"\r", "t": b"\t", "b": b"\b", "a": b"\a"}
_OUT_ESCAPES = {
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord("\t"): "\\t",
    ord('"'): '\\"',
    ord("'"): "\\'",
    ord("\\"): "\\\\",
}
_UNESCAPES = {"n": 10, "r": 13, "t": 9, '"': 34, "'": 39, "\\": 92}
# Token separators inside an argument (upstream stops a bare token at these only).
_TOKEN_END = " \n\r\t\0"
# C isspace() in the C locale: what upstream skips between arguments.
_BLANKS = " \t\n\v\f\r"


class ArgSyntaxError(ValueError):
    """A command line that cannot be split: unbalanced quotes, text glued to a quote."""


def c_escape(data: bytes, *, escape_all: bool = False) -> str:
    """Printable ASCII form of ``data``, as upstream's shell prints keys and values."""
    if escape_all:
        return "".join(f"\\x{b:02X}" for b in data)
    out = []
    for b in data:
        esc = _OUT_ESCAPES.get(b)
        if esc is not None:
            out.append(esc)
        elif 0x20 <= b <= 0x7E:
            out.append(chr(b))
        else:
            out.append(f"\\x{b:02X}")
    return "".join(out)


def c_unescape(text: str) -> bytes:
    """Bytes of a ``c_escape``d string; ValueError (naming the position) when malformed."""
    out = bytearray()
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch != "\\":
            if not " " <= ch <= "~":
                raise ValueError(f"unescaped non-printable character at {i}")
            out.append(ord(ch))
            i += 1
            continue
        nxt = text[i + 1] if i + 1 < n else ""
        if nxt in ("x", "X"):
            hh = text[i + 2 : i + 4]
            if len(hh) != 2 or any(c not in _HEX for c in hh):
                raise ValueError(f"bad \\x escape at {i}")
            out.append(int(hh, 16))
            i += 4
        elif nxt and nxt in _UNESCAPES:
            out.append(_UNESCAPES[nxt])
            i += 2
        else:
            raise ValueError(f"bad escape at {i}")
    return bytes(out)


def _encode(ch: str) -> bytes:
    return ch.encode("utf-8", "surrogateescape")


def split_args(line: str) -> list[bytes]:
    """Arguments of one command line, as upstream's shell splits them (see module doc)."""
    args: list[bytes] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in _BLANKS:
            i += 1
        if i >= n:
            return args
        current = bytearray()
        in_dq = in_sq = False
        while True:
            ch = line[i] if i < n else ""
            if in_dq:
                if not ch:
                    raise ArgSyntaxError("unbalanced double quote")
                if ch == "\\" and i + 1 < n:
                    i = _read_dq_escape(line, i, current)
                    continue
                if ch == '"':
                    _check_after_quote(line, i)
                    i += 1
                    break
                current += _encode(ch)
            elif in_sq:
                if not ch:
                    raise ArgSyntaxError("unbalanced single quote")
                if ch == "\\" and line[i + 1 : i + 2] == "'":
                    current += b"'"
                    i += 2
                    continue
                if ch == "'":
                    _check_after_quote(line, i)
                    i += 1
                    break
                current += _encode(ch)
            else:
                if not ch or ch in _TOKEN_END:
                    break
                if ch == '"':
                    in_dq = True
                elif ch == "'":
                    in_sq = True
                else:
                    current += _encode(ch)
            i += 1
        args.append(bytes(current))


def _read_dq_escape(line: str, i: int, current: bytearray) -> int:
    """Consume the escape starting at ``line[i] == "\\"``; return the next index."""
    hh = line[i + 2 : i + 4]
    if line[i + 1] == "x" and len(hh) == 2 and all(c in _HEX for c in hh):
        current.append(int(hh, 16))
        return i + 4
    ch = line[i + 1]
    current += _QUOTED_ESCAPES.get(ch) or _encode(ch)
    return i + 2


def _check_after_quote(line: str, i: int) -> None:
    after = line[i + 1 : i + 2]
    if after and after not in _BLANKS:
        raise ArgSyntaxError(f"closing quote followed by {after!r}; put a space after it")


def split_commands(text: str) -> list[str]:
    """Split ``-e`` text at semicolons that are outside quotes; blank commands dropped."""
    commands: list[str] = []
    start = 0
    quote = ""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if quote:
            if ch == "\\" and i + 1 < n and (quote == '"' or text[i + 1] == "'"):
                i += 2
                continue
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == ";":
            commands.append(text[start:i])
            start = i + 1
        i += 1
    commands.append(text[start:])
    return [c.strip() for c in commands if c.strip()]


def quote_arg(data: bytes) -> str:
    """An argument that ``split_args`` reads back as ``data``: double-quoted c-escape."""
    return '"' + c_escape(data) + '"'
