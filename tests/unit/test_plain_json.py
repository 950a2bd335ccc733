"""The quick plain-JSON look every save takes agrees with the full walk that explains refusals."""

from __future__ import annotations

import math
from enum import StrEnum

import pytest
from hypothesis import given
from hypothesis import strategies as st

from skill.storage.records import _is_plain, _require_plain_json, require_document


class Mood(StrEnum):
    CALM = "calm"


scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5),
                    st.just(Mood.CALM), st.just(b"bytes"), st.just((1, 2)))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.one_of(st.text(max_size=5), st.integers(0, 3)), inner, max_size=4)), max_leaves=20)


def walk_accepts(value: object) -> bool:
    try:
        _require_plain_json(value, "$", "u")
    except (TypeError, ValueError):
        return False
    return True


@given(values)
def test_the_quick_look_never_passes_a_value_the_full_walk_refuses(value):
    if _is_plain(value):
        assert walk_accepts(value)


@given(st.dictionaries(st.text(max_size=5), values, max_size=4))
def test_a_document_is_accepted_exactly_when_the_full_walk_accepts_it(doc):
    if walk_accepts(doc):
        assert require_document(doc, "u") is doc
    else:
        with pytest.raises((TypeError, ValueError)):
            require_document(doc, "u")


def test_subclasses_of_plain_types_still_pass_and_the_refusal_names_where():
    assert require_document({"mood": Mood.CALM, "runs": [True, 1, 2.5, None]}, "u")
    with pytest.raises(ValueError, match=r"\$\.runs\[1\]"):
        require_document({"runs": [1, math.inf]}, "u")
    with pytest.raises(TypeError, match=r"tuple"):
        require_document({"pair": (1, 2)}, "u")
