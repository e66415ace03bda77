"""Property: any TOML document and any environment give a resolved profile or a DotflowError."""

from __future__ import annotations

import json
import math
import os
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dotflow.errors import DotflowError
from dotflow.profiles import KEYS, resolve

PLAUSIBLE_KEYS = [key.name for key in KEYS] + ["base_ulr", "x_note", "bucket", "timeot", "id", "mode"]
PLAUSIBLE_TABLES = ["server", "storage", "workflow", "sever", "x_extra", "profiles", "tool"]
ENV_NAMES = [key.env for key in KEYS] + [
    "SERVER_BASE_URL",
    "SERVER_USER_TOKEN",
    "WORKFLOW_ID",
    "DOTFLOW_PROFILE",
    "DOTFLOW_SERVER_BASE_ULR",
    "A",
    "B",
]

names = st.one_of(st.sampled_from(PLAUSIBLE_KEYS), st.text(min_size=1, max_size=8))
strings = st.one_of(
    st.sampled_from(
        ["$A", "${B:-1}", "${C:?need C}", "$$", "$", "${", "http://h.example", "yes", "-1", "1e999", "nan", "1"]
    ),
    st.text(max_size=12),
)
scalars = st.one_of(
    strings,
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
)
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner, max_size=3), max_leaves=6
)
tables = st.dictionaries(names, values, max_size=5)
profiles = st.dictionaries(
    st.sampled_from(["dev", "prod", "managed", "default", "x_draft"]) | st.text(min_size=1, max_size=5),
    st.dictionaries(st.sampled_from(PLAUSIBLE_TABLES) | names, tables, max_size=3),
    max_size=3,
)
# Mostly valid documents: real keys with plausible (sometimes wrong) values.
plausible_values = st.sampled_from(
    [
        "auto",
        "none",
        "api",
        "file",
        "memory",
        "s3",
        "parallel",
        "sequential",
        "https://h.example/api",
        ".out",
        "${A:-2}",
        "$B",
        "yes",
        1,
        2.5,
        0,
        -1,
        True,
        False,
        "pkg.mod:Cls",
        "tok",
        "",
    ]
)


def section_tables(section: str) -> st.SearchStrategy[dict]:
    keys = [key.name for key in KEYS if key.section == section] + ["x_note"]
    return st.dictionaries(st.sampled_from(keys), plausible_values, max_size=5)


sections = st.fixed_dictionaries({}, optional={s: section_tables(s) for s in ("server", "storage", "workflow")})
plausible_documents = st.fixed_dictionaries(
    {},
    optional={
        "server": section_tables("server"),
        "storage": section_tables("storage"),
        "workflow": section_tables("workflow"),
        "profiles": st.dictionaries(st.sampled_from(["dev", "prod", "managed"]), sections, min_size=1, max_size=3),
        "default_profile": st.sampled_from(["dev", "default"]),
    },
)
documents = (
    plausible_documents
    | st.fixed_dictionaries(
        {},
        optional={
            "server": tables,
            "storage": tables,
            "workflow": tables,
            "profiles": profiles,
            "default_profile": st.sampled_from(["dev", "prod", "nope"]) | values,
        },
    )
    | st.dictionaries(st.sampled_from(PLAUSIBLE_TABLES) | names, values | tables, max_size=4)
)
VALID_ENV = {
    **{key.env: {float: "2.5", int: "3", bool: "on"}.get(key.type, "v") for key in KEYS},
    "DOTFLOW_SERVER_PROVIDER": "none",
    "DOTFLOW_STORAGE_PROVIDER": "file",
    "DOTFLOW_WORKFLOW_MODE": "parallel",
    "DOTFLOW_SERVER_BASE_URL": "https://h.example",
    "DOTFLOW_STORAGE_ENDPOINT_URL": "http://127.0.0.1:9000",
    "SERVER_BASE_URL": "http://h.example/api",
    "SERVER_USER_TOKEN": "t",
    "WORKFLOW_ID": "w",
    "A": "1",
    "B": "2",
}
plausible_environments = st.lists(st.sampled_from(sorted(VALID_ENV.items())), max_size=6).map(dict)
random_environments = st.dictionaries(
    st.sampled_from(ENV_NAMES),
    st.sampled_from(["", "1", "yes", "maybe", "dev", "https://h.example", "-3"]) | st.text(max_size=8),
    max_size=6,
)
environments = plausible_environments | random_environments


def toml_string(text: str) -> str:
    """A TOML basic string; control characters escaped, lone surrogates (not encodable) replaced."""
    out = []
    for ch in text:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04x}")
        elif 0xD800 <= code <= 0xDFFF:
            out.append("?")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_key(key: str) -> str:
    return toml_string(key)


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def dump(document: dict, path: tuple[str, ...] = ()) -> str:
    """A TOML text for ``document``: scalars first, then one [header] per sub-table."""
    lines, subtables = [], []
    for key, value in document.items():
        if isinstance(value, dict) and value:
            subtables.append((key, value))
        else:
            lines.append(f"{toml_key(key)} = {toml_value(value)}")
    out = ""
    if path:
        out += "[" + ".".join(toml_key(k) for k in path) + "]\n"
    out += "\n".join(lines) + ("\n" if lines else "")
    for key, value in subtables:
        out += dump(value, path + (key,))
    return out


def check(text: str, env: dict[str, str], profile: str | None) -> None:
    with tempfile.TemporaryDirectory() as root:
        project = os.path.join(root, "project")
        os.mkdir(project)
        with open(os.path.join(project, "dotflow.toml"), "w", encoding="utf-8", errors="surrogatepass") as handle:
            handle.write(text)
        full_env = {"XDG_CONFIG_HOME": os.path.join(root, "xdg"), **env}
        try:
            rp = resolve(profile, env=full_env, cwd=project)
        except DotflowError as exc:
            assert "\n" not in str(exc)
            return
        json.dumps(rp.as_dict())
        repr(rp)
        rp.workflow_options()
        if rp["storage.provider"] not in ("s3", "gcs"):  # cloud clients are slow to build
            try:
                rp.config()
            except DotflowError as exc:
                assert "\n" not in str(exc)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents, environments, st.sampled_from([None, None, None, None, "dev", "managed", "default"]))
def test_property_generated_documents_resolve_or_raise_dotflow_error(document, env, profile):
    """A dumped random document with random env values resolves or raises a DotflowError."""
    check(dump(document), env, profile)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.sampled_from(
            [
                "[server]",
                "[profiles.dev.server]",
                "timeout = ",
                "= ",
                '"',
                "'''",
                "{",
                "}",
                "[",
                "]",
                "\n",
                "$A",
                "x_",
                "#",
                ".",
                "base_url",
                "1",
            ]
        )
        | st.text(max_size=6),
        max_size=25,
    ).map("".join),
    environments,
)
def test_property_random_text_resolves_or_raises_dotflow_error(text, env):
    """Random text (mostly broken TOML) never raises anything but a DotflowError."""
    check(text, env, None)
