"""Line numbers for keys: tomllib gives none, so a light scan finds them."""

from __future__ import annotations

from dotflow.profiles.parse import dotted, key_lines

DOC = '''\
# comment = 1
title = "a = b"            # line 2
[server]
timeout = 1
"quoted.key" = 2
'lit' = 3
notes = """
fake = 1
"""
after = 4
[profiles.dev.server]
base_url = "x"
server.retries = 1
inline = { a = 1, b = { c = 2 } }
arr = [
  { d = 1 },
  "e = 2",
]
last = 'x'
[[items]]
name = "n"
'''


def test_parse_lines_of_plain_keys_and_tables():
    """Table headers and their keys get the line they are written on."""
    lines = key_lines(DOC)
    assert lines[("title",)] == 2
    assert lines[("server",)] == 3
    assert lines[("server", "timeout")] == 4
    assert lines[("profiles", "dev", "server")] == 11
    assert lines[("profiles",)] == 11 and lines[("profiles", "dev")] == 11
    assert lines[("profiles", "dev", "server", "base_url")] == 12


def test_parse_lines_of_quoted_and_dotted_keys():
    """Quoted keys and dotted keys are followed."""
    lines = key_lines(DOC)
    assert lines[("server", "quoted.key")] == 5
    assert lines[("server", "lit")] == 6
    assert lines[("profiles", "dev", "server", "server", "retries")] == 13


def test_parse_multiline_strings_and_arrays_hide_their_text():
    """Text inside multi-line strings and arrays is never taken for keys."""
    lines = key_lines(DOC)
    assert ("server", "fake") not in lines
    assert lines[("server", "after")] == 10
    assert lines[("profiles", "dev", "server", "last")] == 19
    assert ("profiles", "dev", "server", "arr", "d") not in lines


def test_parse_inline_table_keys():
    """Keys inside inline tables, nested too, get the line of the inline table."""
    lines = key_lines(DOC)
    assert lines[("profiles", "dev", "server", "inline", "a")] == 14
    assert lines[("profiles", "dev", "server", "inline", "b", "c")] == 14


def test_parse_array_of_tables_header():
    """[[table]] headers are followed too."""
    assert key_lines(DOC)[("items", "name")] == 21


def test_parse_never_fails_on_odd_text():
    """The scan is best effort and returns what it found, even on text that is not TOML."""
    for text in ("[", "a = [", 'a = "', "a = {", "= = =", "[a.\n", "x = '''", '"""', "\\", "[[[[", 'a."b'):
        assert isinstance(key_lines(text), dict)


def test_parse_dotted_quotes_keys_that_are_not_bare():
    """dotted() writes keys the way TOML would."""
    assert dotted(("profiles", "my prof", "server")) == 'profiles."my prof".server'
