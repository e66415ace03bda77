"""StorageFile: JSON files under one folder, written atomically, never outside it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from engine_support import stored

from dotflow import Config, Context, DotFlow, TypeStatus, action
from dotflow.abc.storage import Storage
from dotflow.errors import DotflowError, StorageError
from dotflow.providers import StorageFile
from dotflow.testing import StorageContract, check_hostile_keys_are_distinct

LOCK = ".dotflow.lock"  # the folder's write lock: the only file besides the results

HOSTILE = (
    "../../etc/x",
    "../escape",
    "..",
    "../..",
    "/etc/dotflow-abs",
    "a/b/c",
    "a\\b",
    "..\\..\\win",
    "./hidden",
    ".env",
    "\x00nul",
    "ünï/cødé",
)


def _files(root: Path) -> list[Path]:
    """Every file below ``root`` except the write lock."""
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name != LOCK)


def _names(root: Path) -> list[str]:
    """The names directly in ``root`` except the write lock."""
    return sorted(p.name for p in root.iterdir() if p.name != LOCK)


@pytest.fixture
def nested(tmp_path: Path) -> tuple[Path, StorageFile]:
    """A StorageFile two levels below tmp_path, so a ``../..`` escape would still land inside tmp_path."""
    root = tmp_path / "a" / "b" / "store"
    return root, StorageFile(root)


class TestContract(StorageContract):
    """StorageFile meets dotflow.testing.StorageContract, and every file it makes is one flat ``*.json`` name."""

    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path: Path) -> None:
        self.root = tmp_path / "store"

    def make_storage(self) -> Storage:
        return StorageFile(self.root)

    def stored_names(self) -> list[str]:
        return _names(self.root)


def test_default_path_is_dot_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``StorageFile()`` writes under ``.output`` in the current directory."""
    monkeypatch.chdir(tmp_path)
    storage = StorageFile()
    storage.post("wf-1", Context({"a": 1}))
    assert [p.relative_to(tmp_path).as_posix() for p in _files(tmp_path)] == [".output/wf-1.json"]
    assert repr(storage) == "StorageFile(path='.output')"


def test_file_is_a_json_document(tmp_path: Path) -> None:
    """The file for key ``k`` is ``<path>/k.json`` holding ``{"storage": <value>}``."""
    storage = StorageFile(tmp_path)
    storage.post("k", Context(["a", {"b": None}]))
    assert stored((tmp_path / "k.json").read_text()) == {"storage": ["a", {"b": None}]}


def test_lists_round_trip(tmp_path: Path) -> None:
    """Plain list results (and lists of lists, and empty ones) come back as lists (upstream drops them)."""
    storage = StorageFile(tmp_path)
    for key, value in {"l1": [1, 2, 3], "l2": [[1], [2, [3]]], "l3": [], "l4": [{"id": 1}]}.items():
        storage.post(key, Context(value))
        assert StorageFile(tmp_path).get(key).storage == value


def test_overwrite_keeps_one_file(tmp_path: Path) -> None:
    """Posting the same key many times leaves one file holding the last value, with no duplicates."""
    storage = StorageFile(tmp_path)
    for n in range(20):
        storage.post("same", Context({"n": n}))
    assert [p.name for p in _files(tmp_path)] == ["same.json"]
    assert storage.get("same").storage == {"n": 19}


def test_writes_leave_no_temp_files(tmp_path: Path) -> None:
    """After many writes the folder holds only the final ``*.json`` files, no temp files."""
    storage = StorageFile(tmp_path)
    for n in range(30):
        storage.post(f"key-{n % 5}", Context("v" * n))
    assert _names(tmp_path) == [f"key-{n}.json" for n in range(5)]


class Unprintable:
    """A value whose encoding fails: ``str()`` raises."""

    def __str__(self) -> str:
        raise RuntimeError("cannot encode me")


def test_failing_encode_does_not_clobber_the_old_file(tmp_path: Path) -> None:
    """A value that fails to encode raises, and leaves the previous file intact with no temp file."""
    storage = StorageFile(tmp_path)
    storage.post("k", Context({"good": True}))
    before = (tmp_path / "k.json").read_bytes()
    with pytest.raises(RuntimeError, match="cannot encode me"):
        storage.post("k", Context({"bad": Unprintable()}))
    assert (tmp_path / "k.json").read_bytes() == before
    assert _names(tmp_path) == ["k.json"]


def test_failing_rename_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """If the final rename fails, the old file is unchanged, the temp file is removed, and a DotflowError says so."""
    storage = StorageFile(tmp_path)
    storage.post("k", Context("old"))

    def broken_replace(src: Any, dst: Any) -> None:
        raise OSError("disk said no")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(DotflowError, match="disk said no"):
        storage.post("k", Context("new"))
    monkeypatch.undo()
    assert storage.get("k").storage == "old"
    assert _names(tmp_path) == ["k.json"]


def test_write_goes_through_a_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each post writes a temp file in the same folder and renames it onto the target."""
    storage = StorageFile(tmp_path)
    renames: list[tuple[Path, Path]] = []
    real_replace = os.replace

    def spy(src: Any, dst: Any) -> None:
        renames.append((Path(src), Path(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    storage.post("k", Context(1))
    assert len(renames) == 1
    src, dst = renames[0]
    assert dst == tmp_path / "k.json"
    assert src.parent == tmp_path and src != dst


def test_corrupt_file_raises_a_dotflow_error_naming_it(tmp_path: Path) -> None:
    """A stored file that is not JSON raises StorageError (a DotflowError) naming the file and telling to delete it."""
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(StorageError) as info:
        StorageFile(tmp_path).get("bad")
    assert "bad.json" in str(info.value) and "delete" in str(info.value)


DEEP = 200_000  # levels of nesting: far past what the interpreter's stack can parse


def test_json_nested_too_deeply_is_a_storage_error_not_a_recursion_error(tmp_path: Path) -> None:
    """A stored file holding JSON nested 200,000 deep (valid JSON no parser on a stack can read) is
    the one-line StorageError of a corrupt file, not a RecursionError."""
    (tmp_path / "deep.json").write_text('{"storage": ' + "[" * DEEP + "]" * DEEP + "}")
    with pytest.raises(StorageError) as info:
        StorageFile(tmp_path).get("deep")
    assert "deep.json" in str(info.value) and "nested too deeply" in str(info.value) and "\n" not in str(info.value)


def test_a_1_0_1_checkpoint_nested_too_deeply_reads_as_not_stored(tmp_path: Path) -> None:
    """A file in 1.0.1's folder (tasks/) nested too deeply to parse is not one of its checkpoints,
    as any other file there that is not 1.0.1's array: nothing stored, no RecursionError."""
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "old").write_text("[" * DEEP + "]" * DEEP)
    (tmp_path / "tasks" / "item").write_text('["' + "[" * DEEP + "]" * DEEP + '"]')
    storage = StorageFile(tmp_path)
    assert storage.get("old").storage is None and not storage.exists("old")
    assert isinstance(storage.get("item").storage, str)


@pytest.mark.parametrize("key", HOSTILE)
def test_hostile_keys_write_only_inside_path(nested: tuple[Path, StorageFile], key: str) -> None:
    """Keys with ``..``, ``/``, ``\\``, absolute paths or leading dots write one flat file inside ``path``."""
    root, storage = nested
    storage.post(key, Context({"key": key}))
    top = root.parent.parent.parent
    files = _files(top)
    assert len(files) == 1
    assert files[0].parent == root
    assert not files[0].name.startswith(".")
    assert storage.get(key).storage == {"key": key}
    assert not Path("/etc/dotflow-abs.json").exists()


def test_hostile_keys_do_not_read_outside_path(nested: tuple[Path, StorageFile]) -> None:
    """A file planted next to ``path`` cannot be read through ``../`` keys."""
    root, storage = nested
    root.mkdir(parents=True)
    (root.parent / "secret.json").write_text(json.dumps({"storage": "secret"}))
    for key in ("../secret", "..\\secret", str(root.parent / "secret")):
        assert storage.get(key).storage is None


def test_all_hostile_keys_together_stay_distinct(nested: tuple[Path, StorageFile]) -> None:
    """Every hostile key keeps its own value, and all files sit directly in ``path``."""
    root, storage = nested
    check_hostile_keys_are_distinct(storage, HOSTILE)
    assert all(p.parent == root for p in _files(root.parent.parent.parent))


def test_long_keys_are_stored(tmp_path: Path) -> None:
    """A key longer than a file name may be (and one of 100 multibyte characters) still round-trips."""
    storage = StorageFile(tmp_path)
    long_keys = ["w" * 400, "工作流" * 40, "w" * 400 + "x"]
    for n, key in enumerate(long_keys):
        storage.post(key, Context(n))
    assert [storage.get(key).storage for key in long_keys] == [0, 1, 2]
    assert all(p.parent == tmp_path for p in _files(tmp_path))


@action
def produce() -> list[dict[str, int]]:
    return [{"n": 1}, {"n": 2}]


@pytest.mark.parametrize("length", [250, 300, 4_100, 10_000])
@pytest.mark.parametrize("with_1_0_1_folder", [False, True], ids=["alone", "beside-1.0.1-tasks"])
def test_long_flat_keys_work_beside_a_1_0_1_folder(tmp_path: Path, length: int, with_1_0_1_folder: bool) -> None:
    """A workflow id of hundreds or thousands of characters works through the whole contract, also
    where 1.0.1's tasks/ folder exists: 1.0.1 never wrote a name that long, so it is not looked up
    there (it was asked for, raw, and the file system refused the name)."""
    if with_1_0_1_folder:
        (tmp_path / "tasks").mkdir()
    storage = StorageFile(tmp_path)
    key = "w" * length + "-0-80ff3611"
    assert storage.exists(key) is False and storage.get(key).storage is None
    storage.post(key, Context({"n": length}))
    assert storage.exists(key) and storage.get(key).storage == {"n": length}
    assert storage.list_keys("w") == [key]
    assert storage.atomic_swap(key, {"n": length}, "swapped") and storage.get(key).storage == "swapped"
    assert storage.delete(key) is True and storage.exists(key) is False
    storage.post(key, Context(1))
    assert storage.delete_prefix("w") == 1


def test_a_long_workflow_id_runs_and_resumes_with_file_storage(tmp_path: Path) -> None:
    """A DotFlow whose id is 4,100 characters long runs, stores and resumes on StorageFile."""
    workflow_id = "n" * 4_100
    first = DotFlow(config=Config(storage=StorageFile(tmp_path)), workflow_id=workflow_id)
    first.task.add(produce)
    first.start()
    assert first.result_task()[0].status == TypeStatus.COMPLETED
    again = DotFlow(config=Config(storage=StorageFile(tmp_path)), workflow_id=workflow_id)
    again.task.add(produce)
    again.start(resume=True)
    assert again.result_task()[0].resumed


def test_workflow_id_with_traversal_stays_inside(tmp_path: Path) -> None:
    """``DotFlow(workflow_id="../../evil")`` with StorageFile writes only inside the storage folder, and resumes."""
    root = tmp_path / "a" / "b" / "store"
    workflow = DotFlow(config=Config(storage=StorageFile(root)), workflow_id="../../evil")
    workflow.task.add(produce)
    workflow.start(resume=True)
    assert workflow.result_task()[0].status is TypeStatus.COMPLETED
    files = _files(tmp_path)
    assert files and all(p.parent == root for p in files)
    again = DotFlow(config=Config(storage=StorageFile(root)), workflow_id="../../evil")
    again.task.add(produce)
    again.start(resume=True)
    assert again.result_storage() == [[{"n": 1}, {"n": 2}]]
    assert _files(tmp_path) == files


def test_workflow_result_is_stored_under_workflow_and_task_id(tmp_path: Path) -> None:
    """A task's result is the file named ``<workflow_id>-<task_id>.json``."""
    workflow = DotFlow(config=Config(storage=StorageFile(tmp_path)), workflow_id="wf-7")
    workflow.task.add(produce)
    workflow.start()
    task_id = workflow.result_task()[0].task_id
    assert stored((tmp_path / f"wf-7-{task_id}.json").read_text()) == {"storage": [{"n": 1}, {"n": 2}]}


# --- a bad folder, file modes ---------------------------------------------------------------------


def _assert_one_line_naming(error: DotflowError, path: Path) -> None:
    message = str(error)
    assert str(path) in message and "\n" not in message
    assert "path" in message  # what to do: point path= somewhere else


def test_path_that_is_a_file_fails_with_one_dotflow_error(tmp_path: Path) -> None:
    """When ``path`` is a file, post, get, exists and delete raise a one-line DotflowError naming it."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    storage = StorageFile(blocker)
    for call in (
        lambda: storage.post("k", Context(1)),
        lambda: storage.get("k"),
        lambda: storage.exists("k"),
        lambda: storage.delete("k"),
    ):
        with pytest.raises(DotflowError) as info:
            call()
        _assert_one_line_naming(info.value, blocker)


def test_path_under_a_file_fails_with_one_dotflow_error(tmp_path: Path) -> None:
    """A ``path`` nested below a file (mkdir cannot make it) raises a DotflowError, not NotADirectoryError."""
    (tmp_path / "file").write_text("x")
    root = tmp_path / "file" / "store"
    with pytest.raises(DotflowError) as info:
        StorageFile(root).post("k", Context(1))
    _assert_one_line_naming(info.value, root)


def test_check_refuses_a_path_that_cannot_be_a_folder(tmp_path: Path) -> None:
    """check() raises the one-line StorageError for a file, a device or a path under a file, and
    passes for a folder and for one not made yet (nothing is made)."""
    (tmp_path / "file").write_text("x")
    for path, says in ((tmp_path / "file", "it is a file, not a folder"),
                       ("/dev/null", "it is a character device, not a folder"),
                       (tmp_path / "file" / "below", "Not a directory")):
        with pytest.raises(StorageError, match=says) as info:
            StorageFile(path).check()
        assert "\n" not in str(info.value)
    StorageFile(tmp_path).check()
    StorageFile(tmp_path / "later").check()
    assert not (tmp_path / "later").exists()


def test_check_refuses_a_path_too_long_for_its_files(tmp_path: Path) -> None:
    """A path too long to hold file names under it is refused by check(), shown by its ends."""
    path = "p" * 4_000
    with pytest.raises(StorageError, match="the path is 4000 characters long, too long") as info:
        StorageFile(path).check()
    assert len(str(info.value)) < 400


def test_a_workflow_on_a_bad_folder_stops_before_running(tmp_path: Path) -> None:
    """``start()`` on a storage folder that is a file raises the one-line DotflowError before any step runs."""
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    workflow = DotFlow(config=Config(storage=StorageFile(blocker)), workflow_id="bad-folder")
    workflow.task.add(produce)
    with pytest.raises(DotflowError) as info:
        workflow.start()
    _assert_one_line_naming(info.value, blocker)
    assert workflow.result_task()[0].status is TypeStatus.NOT_STARTED


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600), (0o002, 0o664)])
def test_files_get_the_usual_mode_for_the_umask(tmp_path: Path, umask: int, mode: int) -> None:
    """A stored file has mode ``0o666 & ~umask`` like any file the process creates, not mkstemp's 0600."""
    previous = os.umask(umask)
    try:
        storage = StorageFile(tmp_path / f"store-{umask:o}")
        storage.post("k", Context(1))
        storage.post("k", Context(2))
    finally:
        os.umask(previous)
    assert (tmp_path / f"store-{umask:o}" / "k.json").stat().st_mode & 0o777 == mode


def test_delete_removes_only_that_file(tmp_path: Path) -> None:
    """``delete(key)`` unlinks that key's file and leaves the others."""
    storage = StorageFile(tmp_path)
    storage.post("a", Context(1))
    storage.post("b", Context(None))
    storage.delete("a")
    assert [p.name for p in _files(tmp_path)] == ["b.json"]
    assert storage.exists("b") and not storage.exists("a")


def test_a_list_of_contexts_is_marked_and_comes_back_as_contexts(tmp_path: Path) -> None:
    """A class step's result (a list of Contexts) is stored with ``"contexts": true`` and read back as Contexts."""
    storage = StorageFile(tmp_path)
    storage.post("cls", Context([Context(1), Context({"a": 2})]))
    assert stored((tmp_path / "cls.json").read_text()) == {"storage": [1, {"a": 2}], "contexts": True}
    assert storage.get("cls").storage == [Context(1), Context({"a": 2})]
    storage.post("plain", Context([1, 2]))
    assert stored((tmp_path / "plain.json").read_text()) == {"storage": [1, 2]}
    assert storage.get("plain").storage == [1, 2]


# --- ttl, fingerprint, prefixes, the lock ------------------------------------------------------------


def test_ttl_and_fingerprint_are_kept_in_the_document(tmp_path: Path) -> None:
    """``post(ttl=, fingerprint=)`` writes ``expires_at`` first (exists reads only the head), and the fingerprint."""
    import time

    storage = StorageFile(tmp_path)
    before = time.time()
    storage.post("k", Context({"a": 1}), ttl=60, fingerprint="fp-1")
    text = (tmp_path / "k.json").read_text()
    assert text.startswith('{"expires_at": ')
    document = json.loads(text)
    assert before + 60 <= document["expires_at"] <= time.time() + 60
    assert document["storage"] == {"a": 1} and document["fingerprint"] == "fp-1"
    storage.post("k", Context(2))
    assert stored((tmp_path / "k.json").read_text()) == {"storage": 2}


def test_an_expired_entry_reads_as_missing_but_stays_until_deleted(tmp_path: Path) -> None:
    """A file whose ``expires_at`` passed reads as missing everywhere; only delete removes the file."""
    (tmp_path / "old.json").write_text(json.dumps({"expires_at": 1.0, "storage": "stale"}))
    storage = StorageFile(tmp_path)
    assert storage.get("old").storage is None and storage.exists("old") is False
    assert storage.list_keys("") == []
    assert (tmp_path / "old.json").exists()
    assert storage.delete("old") is True and not (tmp_path / "old.json").exists()


def test_long_keys_are_listed_and_deleted_by_prefix(tmp_path: Path) -> None:
    """Keys too long for a file name (stored under a hashed name) come back from list_keys and delete_prefix."""
    storage = StorageFile(tmp_path)
    long_keys = ["wf-" + "w" * 400, "wf-" + "工作流" * 40]
    for key in long_keys:
        storage.post(key, Context(key))
    storage.atomic_swap(long_keys[0], long_keys[0], "swapped")
    assert storage.list_keys("wf-") == sorted(long_keys)
    assert storage.get(long_keys[0]).storage == "swapped"
    assert storage.delete_prefix("wf-") == 2
    assert _files(tmp_path) == []


def test_empty_and_nul_keys_do_not_collide(tmp_path: Path) -> None:
    """The empty key and the key ``"\\x00"`` are two files and list back as themselves."""
    storage = StorageFile(tmp_path)
    storage.post("", Context("empty"))
    storage.post("\x00", Context("nul"))
    assert (storage.get("").storage, storage.get("\x00").storage) == ("empty", "nul")
    assert sorted(storage.list_keys("")) == ["", "\x00"]


def test_foreign_files_in_the_folder_are_not_keys(tmp_path: Path) -> None:
    """Files the storage did not name (no ``.json``, dot files, non-canonical escapes) are not listed or deleted."""
    for name in ("notes.txt", ".hidden.json", "%41.json", "a%2fb.json"):
        (tmp_path / name).write_text("{}")
    storage = StorageFile(tmp_path)
    storage.post("a", Context(1))
    assert storage.list_keys("") == ["a"]
    assert storage.delete_prefix("%") == 0 and storage.delete_prefix("a") == 1
    assert _names(tmp_path) == sorted(["notes.txt", ".hidden.json", "%41.json", "a%2fb.json"])


def test_delete_of_a_missing_folder_creates_nothing(tmp_path: Path) -> None:
    """delete and delete_prefix on a folder that does not exist answer False and 0 without making it."""
    storage = StorageFile(tmp_path / "never")
    assert storage.delete("k") is False and storage.delete_prefix("k") == 0
    assert storage.list_keys("") == [] and not (tmp_path / "never").exists()


def test_a_stuck_writer_makes_post_fail_with_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """While another process holds the folder's lock, post waits at most the lock timeout, then raises naming it."""
    import fcntl

    import dotflow.providers.storage_file as module

    monkeypatch.setattr(module, "_LOCK_TIMEOUT", 0.2)
    storage = StorageFile(tmp_path)
    storage.post("k", Context(1))
    with open(tmp_path / LOCK, "rb") as other:  # another open file: flock treats it as another process
        fcntl.flock(other.fileno(), fcntl.LOCK_EX)
        with pytest.raises(DotflowError) as info:
            storage.post("k", Context(2))
    assert LOCK in str(info.value) and "\n" not in str(info.value)
    assert storage.get("k").storage == 1
    storage.post("k", Context(3))
    assert storage.get("k").storage == 3


SWAP_SCRIPT = """
import sys
from dotflow.providers import StorageFile
storage = StorageFile(sys.argv[1])
for _ in range(int(sys.argv[2])):
    while True:
        current = storage.get("counter").storage
        if storage.atomic_swap("counter", current, current + 1):
            break
"""


def test_atomic_swap_is_atomic_across_processes(tmp_path: Path) -> None:
    """Three processes incrementing one counter with atomic_swap lose no increment (the flock holds)."""
    import subprocess
    import sys

    storage = StorageFile(tmp_path)
    storage.post("counter", Context(0))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    workers = [
        subprocess.Popen([sys.executable, "-c", SWAP_SCRIPT, str(tmp_path), "60"], env=env) for _ in range(3)
    ]
    for worker in workers:
        assert worker.wait(timeout=60) == 0
    assert storage.get("counter").storage == 180
