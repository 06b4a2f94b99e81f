"""How the shell reads arguments and prints bytes, against upstream's rules
(sdssplitargs on input, c_escape_string / c_unescape_string on output)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as hs

from pegasus_log.shell.shell.escaping import (
    ArgSyntaxError,
    c_escape,
    c_unescape,
    quote_arg,
    split_args,
    split_commands,
)

# ---- output ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (b"plain text 123", "plain text 123"),
        (b"\n\r\t", "\\n\\r\\t"),
        (b"\"'\\", "\\\"\\'\\\\"),
        (b"\x00\x01\x1f", "\\x00\\x01\\x1F"),
        (b"\x7f\x80\xff", "\\x7F\\x80\\xFF"),
        (b"~ ", "~ "),
        ("中".encode(), "\\xE4\\xB8\\xAD"),
        (b"\x07\x08", "\\x07\\x08"),  # \a and \b are not given names on output
    ],
)
def test_c_escape_matches_upstream(raw: bytes, shown: str) -> None:
    assert c_escape(raw) == shown


def test_escape_all_escapes_every_byte() -> None:
    assert c_escape(b"a\n", escape_all=True) == "\\x61\\x0A"


@given(hs.binary(max_size=64))
def test_escaped_output_is_printable_ascii(data: bytes) -> None:
    shown = c_escape(data)
    assert all(" " <= ch <= "~" for ch in shown)


@given(hs.binary(max_size=64), hs.booleans())
def test_c_unescape_inverts_c_escape(data: bytes, escape_all: bool) -> None:
    assert c_unescape(c_escape(data, escape_all=escape_all)) == data


@pytest.mark.parametrize("bad", ["\\q", "\\x4", "\\xZZ", "tail\\", "tab\there", "é"])
def test_c_unescape_refuses_what_upstream_refuses(bad: str) -> None:
    with pytest.raises(ValueError):
        c_unescape(bad)


def test_c_unescape_accepts_upper_case_x() -> None:
    assert c_unescape("\\X41\\x6a") == b"Aj"


# ---- input -----------------------------------------------------------------------------


@given(hs.binary(max_size=64))
def test_printed_value_reads_back_as_the_same_bytes(data: bytes) -> None:
    assert split_args(quote_arg(data)) == [data]


@given(hs.lists(hs.binary(max_size=16), max_size=6))
def test_many_quoted_arguments_round_trip(args: list[bytes]) -> None:
    line = " ".join(quote_arg(a) for a in args)
    assert split_args(line) == args


@given(
    hs.lists(
        hs.text(
            alphabet=hs.characters(
                min_codepoint=33, max_codepoint=0x2FFF, exclude_characters="\"'"
            ),
            min_size=1,
        ),
        max_size=5,
    )
)
def test_bare_words_are_their_utf8_bytes(words: list[str]) -> None:
    assert split_args("  ".join(words)) == [w.encode() for w in words]


@pytest.mark.parametrize(
    ("line", "args"),
    [
        ("", []),
        ("   \t ", []),
        ("set h s v", [b"set", b"h", b"s", b"v"]),
        ('get "" ""', [b"get", b"", b""]),
        ('"a b" c', [b"a b", b"c"]),
        ('"\\x00\\xfF\\xAb"', [b"\x00\xff\xab"]),
        ('"\\n\\r\\t\\b\\a"', [b"\n\r\t\b\a"]),
        ('"\\"\\\\\\\'\\q"', [b"\"\\'q"]),
        ('"\\x4g"', [b"x4g"]),  # not two hex digits: the backslash just drops
        ("'single \\' quoted \\n'", [b"single ' quoted \\n"]),
        ("bare\\x00", [b"bare\\x00"]),  # outside quotes a backslash is literal
        ('ab"c d"', [b"abc d"]),  # a quote inside a word opens quoting
        ("中文", ["中文".encode()]),
    ],
)
def test_split_args_like_sdssplitargs(line: str, args: list[bytes]) -> None:
    assert split_args(line) == args


@pytest.mark.parametrize("line", ['"open', "'open", '"a"b', "'a'b", 'x "tail\\'])
def test_split_args_refuses_unbalanced_or_glued_quotes(line: str) -> None:
    with pytest.raises(ArgSyntaxError):
        split_args(line)


@pytest.mark.parametrize(
    ("text", "commands"),
    [
        ("use temp; get a b", ["use temp", "get a b"]),
        ('set a b "x;y"; get a b', ['set a b "x;y"', "get a b"]),
        ("set a b 'x;y'", ["set a b 'x;y'"]),
        ('set a b "q\\";x"', ['set a b "q\\";x"']),
        (" ; ;get a b;", ["get a b"]),
        ("", []),
    ],
)
def test_split_commands_at_semicolons_outside_quotes(text: str, commands: list[str]) -> None:
    assert split_commands(text) == commands
