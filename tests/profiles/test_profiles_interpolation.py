"""Interpolation of file values: every form, its failure, and where it applies."""

from __future__ import annotations

import pytest

from dotflow.errors import ConfigError
from dotflow.profiles.interpolate import interpolate


def expand(text: str, **env: str) -> tuple[str | None, list[str]]:
    problems: list[str] = []
    return interpolate(text, env, problems, "f:1 [t] k"), problems


def test_interpolate_dollar_name():
    """$NAME is replaced by the variable's value."""
    assert expand("a-$HOST-b", HOST="h") == ("a-h-b", [])


def test_interpolate_dollar_name_unset_is_error():
    """$NAME with NAME unset is reported with the place and the name."""
    assert expand("$NOPE") == (None, ["f:1 [t] k: variable NOPE is not set"])


def test_interpolate_braced():
    """${NAME} is replaced by the variable's value, even next to name characters."""
    assert expand("${A}_x", A="1") == ("1_x", [])


def test_interpolate_braced_unset_is_error():
    """${NAME} with NAME unset is an error naming NAME."""
    assert expand("${NOPE}")[1] == ["f:1 [t] k: variable NOPE is not set"]


def test_interpolate_colon_dash_default_when_unset_or_empty():
    """${NAME:-word} gives word when NAME is unset or empty, else NAME."""
    assert expand("${A:-w}") == ("w", [])
    assert expand("${A:-w}", A="") == ("w", [])
    assert expand("${A:-w}", A="v") == ("v", [])


def test_interpolate_dash_default_only_when_unset():
    """${NAME-word} gives word only when NAME is unset; an empty NAME stays empty."""
    assert expand("${A-w}") == ("w", [])
    assert expand("${A-w}", A="") == ("", [])


def test_interpolate_default_may_hold_a_variable():
    """The default word is itself interpolated."""
    assert expand("${A:-${B}/x}", B="b") == ("b/x", [])


def test_interpolate_colon_question_carries_message():
    """${NAME:?message} is an error carrying the message when NAME is unset or empty."""
    assert expand("${A:?set A please}")[1] == ["f:1 [t] k: variable A is not set: set A please"]
    assert expand("${A:?set A}", A="")[1] == ["f:1 [t] k: variable A is not set or is empty: set A"]
    assert expand("${A:?set A}", A="v") == ("v", [])


def test_interpolate_question_only_when_unset():
    """${NAME?message} errors only when NAME is unset; empty is a value."""
    assert expand("${A?need A}")[1] == ["f:1 [t] k: variable A is not set: need A"]
    assert expand("${A?need A}", A="") == ("", [])


def test_interpolate_double_dollar_is_literal():
    """$$ is a literal $ and starts no variable."""
    assert expand("p$$w$$$$") == ("p$w$$", [])
    assert expand("$${A}") == ("${A}", [])


def test_interpolate_lone_dollar_is_error():
    """A $ followed by no name is an error that suggests $$."""
    _, problems = expand("cost 5$")
    assert problems and "write '$$' for a literal '$'" in problems[0]


def test_interpolate_unclosed_brace_is_error():
    """${NAME without } is an error."""
    assert "no closing '}'" in expand("${A")[1][0]


def test_interpolate_unknown_operator_is_error():
    """${NAME:x} is an unsupported form, reported as such."""
    assert "unsupported form" in expand("${A:x}", A="1")[1][0]


def test_interpolate_all_unset_variables_in_one_error(make, setup):
    """Every unresolved variable of the tables in use is listed in one error, with file:line."""
    setup.write_project(
        """\
        [server]
        base_url = "${URL}"
        user_token = "$TOKEN"

        [storage]
        bucket = "${BUCKET:?set BUCKET to the bucket}"
        """
    )
    with pytest.raises(ConfigError) as info:
        setup.resolve()
    message = str(info.value)
    path = setup.project / "dotflow.toml"
    assert f"{path}:2 [server] base_url: variable URL is not set" in message
    assert f"{path}:3 [server] user_token: variable TOKEN is not set" in message
    assert f"{path}:6 [storage] bucket: variable BUCKET is not set: set BUCKET to the bucket" in message
    assert "\n" not in message


def test_interpolate_only_tables_in_use(make):
    """A broken variable in a profile that is not selected does no harm."""
    rp = make(
        project='[profiles.prod.storage]\nbucket = "${NOPE:?x}"\n[profiles.dev.workflow]\nname = "$WHO"\n',
        profile="dev",
        env={"WHO": "me"},
    )
    assert rp["workflow.name"] == "me"


def test_interpolate_selected_profile_table_is_checked(make):
    """A broken variable in the selected profile is an error."""
    with pytest.raises(ConfigError, match=r"\[profiles\.prod\.storage\] bucket: variable NOPE is not set"):
        make(project='[profiles.prod.storage]\nbucket = "${NOPE}"\n', profile="prod")


def test_interpolate_then_convert(make):
    """Conversion happens after interpolation: '${HTTP_TIMEOUT:-15}' yields a float."""
    rp = make(project='[server]\ntimeout = "${HTTP_TIMEOUT:-15}"\nretries = "$R"\n', env={"R": "2"})
    assert rp["server.timeout"] == 15.0 and isinstance(rp["server.timeout"], float)
    assert rp["server.retries"] == 2


def test_interpolate_not_applied_to_env_values(make):
    """Environment values are taken literally; only file values are interpolated."""
    rp = make(env={"DOTFLOW_WORKFLOW_NAME": "${X}"})
    assert rp["workflow.name"] == "${X}"


def test_interpolate_uses_the_env_mapping_given(make):
    """Variables come from the env= mapping passed to resolve."""
    rp = make(project='[workflow]\nid = "run-${N}"\n', env={"N": "7"})
    assert rp["workflow.id"] == "run-7"


def test_interpolate_empty_result_leaves_optional_key_unset(make):
    """'${TOKEN:-}' with TOKEN unset leaves an optional key unset instead of failing."""
    rp = make(project='[server]\nuser_token = "${TOKEN:-}"\n[storage]\nprefix = ""\n')
    assert rp["server.user_token"] is None and rp.settings["server.user_token"].source == "default"
    assert rp["storage.prefix"] == ""


def test_interpolate_message_with_newlines_is_one_line():
    """A ${X:?message} whose message spans lines still gives a one-line error."""
    assert expand("${X:?first line\n   second\tline}") == (
        None,
        ["f:1 [t] k: variable X is not set: first line second line"],
    )
