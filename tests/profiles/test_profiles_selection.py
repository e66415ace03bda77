"""Selecting the profile: first match wins, and an unknown name lists the known ones."""

from __future__ import annotations

import pytest

from dotflow.errors import ConfigError

PROJECT = """\
default_profile = "dev"
[profiles.dev.workflow]
name = "dev"
[profiles.prod.workflow]
name = "prod"
"""


def test_selection_flag_first(make):
    """profile= beats DOTFLOW_PROFILE, WORKFLOW_ID and default_profile."""
    rp = make(PROJECT, profile="prod", env={"DOTFLOW_PROFILE": "dev", "WORKFLOW_ID": "w"})
    assert (rp.name, rp.selected_by) == ("prod", "flag")


def test_selection_dotflow_profile_second(make):
    """DOTFLOW_PROFILE beats WORKFLOW_ID and default_profile."""
    rp = make(PROJECT, env={"DOTFLOW_PROFILE": "prod", "WORKFLOW_ID": "w"})
    assert (rp.name, rp.selected_by) == ("prod", "env:DOTFLOW_PROFILE")


def test_selection_workflow_id_selects_managed(make, managed_env):
    """WORKFLOW_ID selects managed when no profile is named, even over default_profile."""
    rp = make(PROJECT, env=managed_env)
    assert (rp.name, rp.selected_by) == ("managed", "env:WORKFLOW_ID")
    assert rp["workflow.id"] == "wf-123"


def test_selection_project_default_profile(make):
    """default_profile of the project file is used when nothing else names a profile."""
    rp = make(PROJECT, user='default_profile = "prod"\n')
    assert (rp.name, rp.selected_by) == ("dev", "file:default_profile")


def test_selection_user_default_profile(make):
    """default_profile of the user file is used when the project file names none."""
    rp = make("[profiles.x]\n", user='default_profile = "x"\n')
    assert (rp.name, rp.selected_by) == ("x", "file:default_profile")


def test_selection_default_last(make):
    """With nothing naming a profile, it is the built-in default."""
    rp = make(PROJECT.replace('default_profile = "dev"', ""))
    assert (rp.name, rp.selected_by) == ("default", "default")


def test_selection_empty_variables_count_as_unset(make):
    """Empty DOTFLOW_PROFILE and WORKFLOW_ID select nothing."""
    rp = make(env={"DOTFLOW_PROFILE": "", "WORKFLOW_ID": ""})
    assert (rp.name, rp.selected_by) == ("default", "default")


def test_selection_unknown_profile_lists_known(make):
    """An unknown name is an error listing every profile, with a did-you-mean."""
    with pytest.raises(ConfigError) as info:
        make(PROJECT, profile="prdo")
    message = str(info.value)
    assert "unknown profile 'prdo'" in message
    assert "known profiles: default, dev, managed, prod" in message
    assert "did you mean 'prod'?" in message


def test_selection_unknown_profile_from_env_names_the_variable(make):
    """An unknown DOTFLOW_PROFILE says it came from DOTFLOW_PROFILE."""
    with pytest.raises(ConfigError, match=r"unknown profile 'nope' \(from DOTFLOW_PROFILE\)"):
        make(env={"DOTFLOW_PROFILE": "nope"})


def test_selection_unknown_default_profile_names_the_file(make, setup):
    """An unknown default_profile points at the file and line that set it."""
    with pytest.raises(ConfigError) as info:
        make('\n\ndefault_profile = "ghost"\n')
    assert f"default_profile at {setup.project / 'dotflow.toml'}:3" in str(info.value)


def test_selection_file_may_extend_builtin(make, managed_env):
    """[profiles.managed.storage] adds to the built-in managed profile."""
    rp = make("[profiles.managed.storage]\nprovider = 's3'\nbucket = 'b'\n", env=managed_env)
    assert rp["storage.provider"] == "s3" and rp["server.provider"] == "api"


def test_selection_profiles_lists_where_defined(make, setup):
    """rp.profiles maps every known profile to where it is defined."""
    rp = make(PROJECT + "[profiles.managed.storage]\npath = 'm'\n", user="[profiles.mine.server]\n")
    path = setup.project / "dotflow.toml"
    assert rp.profiles == {
        "default": "built-in",
        "managed": f"built-in, {path}:6",
        "mine": f"{setup.xdg / 'dotflow' / 'dotflow.toml'}:1",
        "dev": f"{path}:2",
        "prod": f"{path}:4",
    }


def test_selection_managed_requires_all_three(make):
    """managed with only WORKFLOW_ID names both missing variables and the opt-out."""
    with pytest.raises(ConfigError) as info:
        make(env={"WORKFLOW_ID": "w"})
    message = str(info.value)
    assert "server.base_url (set SERVER_BASE_URL)" in message
    assert "server.user_token (set SERVER_USER_TOKEN)" in message
    assert "workflow.id" not in message
    assert "--profile default" in message


def test_selection_managed_by_flag_names_all_missing(make):
    """--profile managed with nothing set lists all three keys in one error."""
    with pytest.raises(ConfigError) as info:
        make(profile="managed")
    message = str(info.value)
    for variable in ("SERVER_BASE_URL", "SERVER_USER_TOKEN", "WORKFLOW_ID"):
        assert variable in message
    assert "--profile default" in message


def test_selection_managed_accepts_any_source(make):
    """managed's required keys may come from a file and DOTFLOW_ variables."""
    rp = make(
        "[profiles.managed.server]\nbase_url = 'https://x.example'\n",
        profile="managed",
        env={"DOTFLOW_SERVER_USER_TOKEN": "t", "DOTFLOW_WORKFLOW_ID": "w"},
    )
    assert rp["workflow.id"] == "w"


def test_selection_default_opts_out_of_managed(make):
    """--profile default with WORKFLOW_ID set is not managed, and keeps the workflow id."""
    rp = make(profile="default", env={"WORKFLOW_ID": "w"})
    assert rp.name == "default" and rp["workflow.id"] == "w" and rp["server.provider"] == "auto"


def test_selection_unknown_name_given_by_caller_says_so(make):
    """A name given by the caller (--profile, the NAME argument, profile=) is not blamed on --profile alone."""
    with pytest.raises(ConfigError) as info:
        make(PROJECT, profile="nope")
    assert "(from the command line or profile=)" in str(info.value) and "--profile)" not in str(info.value)


def test_list_profiles_when_selection_fails(setup):
    """list_profiles() still lists every profile when the selected name is unknown, and says why."""
    from dotflow.profiles import list_profiles

    setup.write_project(PROJECT)
    listing = list_profiles(env=setup.env(DOTFLOW_PROFILE="typo"), cwd=setup.project)
    assert sorted(listing.profiles) == ["default", "dev", "managed", "prod"]
    assert listing.selected is None and listing.selected_by is None
    assert listing.error is not None and "unknown profile 'typo' (from DOTFLOW_PROFILE)" in listing.error


def test_list_profiles_marks_managed_even_when_it_cannot_resolve(setup):
    """With WORKFLOW_ID alone, list_profiles() selects managed; resolving it is not its job."""
    from dotflow.profiles import list_profiles

    listing = list_profiles(env=setup.env(WORKFLOW_ID="abc"), cwd=setup.project)
    assert (listing.selected, listing.selected_by, listing.error) == ("managed", "env:WORKFLOW_ID", None)
    assert listing.profiles == {"default": "built-in", "managed": "built-in"}


def test_list_profiles_ignores_problems_inside_tables(setup):
    """An unknown key does not stop the listing (resolve() reports it)."""
    from dotflow.profiles import list_profiles

    setup.write_project(PROJECT + "[profiles.prod.server]\nbase_ulr = 'x'\n")
    listing = list_profiles(env=setup.env(), cwd=setup.project)
    assert (listing.selected, listing.error) == ("dev", None) and "prod" in listing.profiles


def test_empty_workflow_id_is_unset_with_a_warning(tmp_path):
    """WORKFLOW_ID='' counts as unset (default profile), and a warning says managed mode is off."""
    from dotflow.profiles import resolve

    resolved = resolve(env={"WORKFLOW_ID": "", "XDG_CONFIG_HOME": str(tmp_path / "xdg")}, cwd=tmp_path)
    assert resolved.name == "default"
    assert any("WORKFLOW_ID is set but empty" in warning for warning in resolved.warnings)
