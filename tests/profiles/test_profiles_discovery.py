"""Finding the files: walk up from cwd, pyproject.toml, --config, DOTFLOW_CONFIG, the user folder."""

from __future__ import annotations

import pytest

from dotflow.errors import ConfigError
from dotflow.profiles import resolve
from dotflow.profiles.discover import user_dir


def test_discovery_walks_up_from_cwd(setup):
    """A dotflow.toml in a parent folder of cwd is the project file."""
    path = setup.write_project("[workflow]\nname = 'up'\n")
    deep = setup.project / "a" / "b"
    deep.mkdir(parents=True)
    rp = setup.resolve(cwd=deep)
    assert rp["workflow.name"] == "up" and rp.files == [str(path)]


def test_discovery_nearest_file_wins(setup):
    """The first dotflow.toml found walking up is used, not one further up."""
    setup.write_project("[workflow]\nname = 'far'\n")
    near = setup.project / "sub"
    near.mkdir()
    (near / "dotflow.toml").write_text("[workflow]\nname = 'near'\n")
    assert setup.resolve(cwd=near)["workflow.name"] == "near"


def test_discovery_pyproject_tool_dotflow(setup):
    """[tool.dotflow] in pyproject.toml holds the same structure, and lines point into pyproject."""
    path = setup.write_project(
        "[project]\nname = 'x'\n\n[tool.dotflow.workflow]\nmode = 'parallel'\n", "pyproject.toml"
    )
    rp = setup.resolve()
    assert rp["workflow.mode"] == "parallel"
    assert rp.settings["workflow.mode"].source == f"file:{path}:5"


def test_discovery_dotflow_toml_beats_pyproject_in_same_folder(setup):
    """When a folder has both, dotflow.toml is used and pyproject.toml is not read."""
    setup.write_project("[tool.dotflow.workflow]\nname = 'py'\n", "pyproject.toml")
    setup.write_project("[workflow]\nname = 'toml'\n")
    assert setup.resolve()["workflow.name"] == "toml"


def test_discovery_pyproject_without_tool_dotflow_is_skipped(setup):
    """A pyproject.toml without [tool.dotflow] does not stop the walk up."""
    setup.write_project("[workflow]\nname = 'up'\n")
    sub = setup.project / "pkg"
    sub.mkdir()
    (sub / "pyproject.toml").write_text("[project]\nname = 'pkg'\n")
    assert setup.resolve(cwd=sub)["workflow.name"] == "up"


def test_discovery_broken_unrelated_pyproject_is_skipped(setup):
    """A broken pyproject.toml that never mentions [tool.dotflow] is not an error."""
    setup.write_project("[project\nname = \n", "pyproject.toml")
    assert setup.resolve().files == []


def test_discovery_explicit_config_path(setup, tmp_path):
    """config_path= names the project file, relative to cwd; no walk-up happens."""
    setup.write_project("[workflow]\nname = 'walked'\n")
    (setup.project / "other.toml").write_text("[workflow]\nname = 'explicit'\n")
    rp = setup.resolve(config_path="other.toml")
    assert rp["workflow.name"] == "explicit"
    assert rp.files == [str(setup.project / "other.toml")]


def test_discovery_explicit_pyproject(setup):
    """An explicit pyproject.toml is read through its [tool.dotflow] table."""
    (setup.root / "pyproject.toml").write_text("[tool.dotflow.workflow]\nname = 'py'\n")
    assert setup.resolve(config_path=setup.root / "pyproject.toml")["workflow.name"] == "py"


def test_discovery_explicit_pyproject_without_table_is_error(setup):
    """An explicit pyproject.toml with no [tool.dotflow] table is an error."""
    (setup.root / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    with pytest.raises(ConfigError, match=r"has no \[tool\.dotflow\] table"):
        setup.resolve(config_path=setup.root / "pyproject.toml")


def test_discovery_dotflow_config_variable(setup):
    """DOTFLOW_CONFIG names the project file."""
    (setup.root / "ci.toml").write_text("[workflow]\nname = 'ci'\n")
    rp = setup.resolve(env={"DOTFLOW_CONFIG": str(setup.root / "ci.toml")})
    assert rp["workflow.name"] == "ci"


def test_discovery_config_path_beats_variable(setup):
    """config_path= wins over DOTFLOW_CONFIG."""
    (setup.root / "a.toml").write_text("[workflow]\nname = 'a'\n")
    (setup.root / "b.toml").write_text("[workflow]\nname = 'b'\n")
    rp = setup.resolve(config_path=setup.root / "a.toml", env={"DOTFLOW_CONFIG": str(setup.root / "b.toml")})
    assert rp["workflow.name"] == "a"


def test_discovery_missing_explicit_file_is_error(setup):
    """A config path that is not a file is an error naming who named it."""
    with pytest.raises(ConfigError, match=r"^DOTFLOW_CONFIG names .*missing\.toml, which is not a file$"):
        setup.resolve(env={"DOTFLOW_CONFIG": str(setup.root / "missing.toml")})
    with pytest.raises(ConfigError, match=r"^--config names"):
        setup.resolve(config_path="missing.toml")


def test_discovery_user_dir_from_xdg_in_env(tmp_path):
    """The user folder comes from XDG_CONFIG_HOME in the env mapping passed in."""
    assert user_dir({"XDG_CONFIG_HOME": str(tmp_path)}) == str(tmp_path / "dotflow")


def test_discovery_user_dir_falls_back_to_platformdirs():
    """Without XDG_CONFIG_HOME the user folder is platformdirs.user_config_dir('dotflow')."""
    import platformdirs

    assert user_dir({}) == platformdirs.user_config_dir("dotflow")


def test_discovery_user_file_is_read(setup):
    """dotflow.toml in the user folder is read and listed first in files."""
    user = setup.write_user("[workflow]\nname = 'mine'\n")
    project = setup.write_project("[server]\ntimeout = 1\n")
    rp = setup.resolve()
    assert rp["workflow.name"] == "mine"
    assert rp.files == [str(user), str(project)]


def test_discovery_no_files(setup):
    """With no file anywhere, files is empty and values are the defaults."""
    rp = setup.resolve()
    assert rp.files == [] and rp["storage.provider"] == "memory"


def test_discovery_same_file_is_read_once(setup):
    """A project file that is also the user file is listed once."""
    user = setup.write_user("[workflow]\nname = 'both'\n")
    rp = resolve(env=setup.env(), cwd=user.parent)
    assert rp.files == [str(user)]


def test_storage_path_with_a_tilde_is_expanded(tmp_path, monkeypatch):
    """A file's `path = "~/results"` means the home folder, not a folder named '~' beside the file."""
    import os

    from dotflow.profiles import resolve

    (tmp_path / "dotflow.toml").write_text('[storage]\nprovider = "file"\npath = "~/results"\n')
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # os.path.expanduser reads the process's HOME
    resolved = resolve(env={"XDG_CONFIG_HOME": str(tmp_path / "xdg")}, cwd=tmp_path)
    assert resolved["storage.path"] == os.path.join(str(tmp_path / "home"), "results")
