"""The StartRoutine task's input reading, and the storage keys of persons and devices (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from ask_sdk_model.task import Task
from hypothesis import given
from hypothesis import strategies as st

from skill.alexa import tasks
from skill.config import LOCAL_SKILL_ID
from skill.core.routines import load_library
from skill.storage.records import MAX_KEY, Changes, RunWrite, is_person_of, person_key, storable_key

LIBRARY = load_library()
NAME = f"{LOCAL_SKILL_ID}.{tasks.TASK_NAME}"


def read(inputs: object, name: str = NAME, version: str = tasks.TASK_VERSION) -> tasks.TaskStart | tasks.TaskProblem:
    return tasks.read_task(Task(name=name, version=version, input=inputs), LOCAL_SKILL_ID, LIBRARY)


def test_a_task_naming_a_routine_and_a_length_starts_that_routine_at_that_length():
    found = read({"routine": "calves", "length": "quick"})
    assert isinstance(found, tasks.TaskStart) and (found.routine.id, found.length) == ("calves", "quick")


def test_a_task_without_a_length_leaves_the_length_to_the_one_chosen_last():
    found = read({"routine": " upper-back "})
    assert isinstance(found, tasks.TaskStart) and (found.routine.id, found.length) == ("upper-back", None)


def test_every_routine_in_the_task_files_enum_can_be_started():
    for routine in LIBRARY.routines:
        assert isinstance(read({"routine": routine.id}), tasks.TaskStart), routine.id


def test_an_unknown_routine_is_said_back_as_plain_words_or_not_at_all():
    assert read({"routine": "Lower_Back<speak>"}) == tasks.TaskProblem(tasks.UNKNOWN_ROUTINE, "lower back speak")
    assert read({"routine": "!!!"}) == tasks.TaskProblem(tasks.UNKNOWN_ROUTINE, None)


@given(st.one_of(st.none(), st.integers(), st.text(max_size=30), st.lists(st.text(max_size=5), max_size=3),
                 st.dictionaries(st.text(max_size=10), st.one_of(st.text(max_size=20), st.integers()), max_size=3)))
def test_any_task_input_gets_a_start_or_a_problem_and_never_an_error(inputs):
    assert isinstance(read(inputs), tasks.TaskStart | tasks.TaskProblem)


def test_a_person_key_keeps_a_plain_id_and_hashes_an_odd_or_long_one():
    account = "amzn1.ask.account.A"
    assert person_key(account, "amzn1.ask.person.P") == "amzn1.ask.account.A#person#amzn1.ask.person.P"
    long_key = person_key(account, "p" * (MAX_KEY + 1))
    odd_key = person_key(account, "p\udc00")
    for key in (long_key, odd_key):
        assert key.startswith(account + "#person#sha256-") and len(key) == len(account) + 8 + 7 + 64
        assert is_person_of(account, key)
    assert long_key != odd_key
    assert not is_person_of(account, account) and not is_person_of(account, None)
    assert not is_person_of("amzn1.ask.account.B", long_key)


@given(st.text(max_size=700))
def test_a_storable_key_always_encodes_and_fits(raw):
    key = storable_key(raw)
    key.encode("utf-8")
    assert len(key) <= MAX_KEY and (key == raw or key.startswith("sha256-"))


def test_a_journaled_change_keeps_its_owner_and_an_older_entry_without_one_reads_as_the_accounts():
    changes = Changes("echo", datetime(2026, 12, 1, tzinfo=UTC), owner="acct#person#p",
                      runs=[RunWrite({"run_id": "r"}, "echo")])
    assert Changes.from_json(changes.to_json()) == changes
    older = {k: v for k, v in changes.to_json().items() if k != "owner"}
    assert Changes.from_json(older).owner is None
