"""The access-path choice: the point-read shortcut gives what weighing every index gives.

``index.choose`` answers a filter that is one equality on the whole preferred index (a
table's primary key, a collection's ``_id``) without weighing every index; a hypothesis
test holds it to the general choice over random filters and index sets.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from docdb.models.index import _best, choose

fields = st.sampled_from(["id", "a", "b"])
scalars = st.one_of(st.integers(-5, 5), st.text(max_size=2), st.booleans(), st.none(),
                    st.floats(allow_nan=True, allow_infinity=True), st.just(2.0))
conditions = st.one_of(
    scalars,
    st.builds(lambda v: {"$eq": v}, scalars),
    st.builds(lambda v: {"$gt": v}, scalars),
    st.builds(lambda v, w: {"$eq": v, "$lt": w}, scalars, scalars),
    st.builds(lambda vs: {"$in": vs}, st.lists(scalars, max_size=3)),
)
index_sets = st.dictionaries(st.sampled_from(["PRIMARY", "t_a", "t_ab", "t_id2"]),
                             st.lists(fields, min_size=1, max_size=2, unique=True), max_size=4)


@settings(max_examples=500, deadline=None)
@given(path=fields, condition=conditions, indexes=index_sets, both=st.booleans())
def test_the_point_shortcut_chooses_what_the_general_choice_does(path, condition, indexes, both):
    prefer = lambda name: name == "PRIMARY"  # noqa: E731
    filter = {path: condition}
    assert choose(filter, indexes, both, prefer) == _best(filter, indexes, both, prefer)


def test_a_primary_key_equality_is_one_exact_range():
    access = choose({"id": 7}, {"PRIMARY": ["id"], "t_id": ["id"]}, True, lambda n: n == "PRIMARY")
    assert access.index == "PRIMARY" and access.exact and len(access.ranges) == 1
