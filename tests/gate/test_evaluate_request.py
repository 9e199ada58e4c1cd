"""The evaluate body's plain path (plain_evaluate_request) must never accept what InputSerializer refuses, nor read
anything differently: over generated bodies, whenever it answers, the serializer validates to the same data."""

from __future__ import annotations

from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from governance.api_gate import GateEvaluateApi, plain_evaluate_request

# Each field is well-formed half the time, so most bodies differ from a valid one in one or two fields: the edges
# where the two paths could disagree.
NAMES = st.one_of(
    st.sampled_from(["credit-scorer", "m", "a" * 256, "Fraud Model v2", "x-1_2.3"]),
    st.one_of(
        st.sampled_from([" credit-scorer", "credit-scorer ", "a" * 257, "", " ", "x\x00y", "é", "\u00a0m"]),
        st.text(max_size=300),
        st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127), max_size=20),
    ),
)
VERSIONS = st.one_of(
    st.sampled_from([1, 3, 2**31 - 1, "1", "3", "01", "2147483647"]),
    st.one_of(
        st.sampled_from(
            [0, -1, 2**31, True, False, 1.0, 1.5, " 1", "1.0", "\u0661", "2147483648", "0", "", "+1", None]
        ),
        st.integers(min_value=-5, max_value=2**31 + 5),
        st.text(alphabet="0123456789", max_size=12),
    ),
)
TARGETS = st.one_of(
    st.sampled_from(["staging", "production"]),
    st.one_of(st.sampled_from(["Production", " staging", "staging ", "", 1, None]), st.text(max_size=12)),
)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=5))
BODIES = st.one_of(
    st.fixed_dictionaries(
        {"model": NAMES, "version": VERSIONS, "target": TARGETS},
        optional={"risk_tier": SCALARS},  # extra fields are ignored by both
    ),
    st.fixed_dictionaries({}, optional={"model": NAMES, "version": VERSIONS, "target": TARGETS}),
    st.lists(st.integers(), max_size=3),
    SCALARS,
)


def _serializer_result(body: Any) -> dict[str, Any] | None:
    serializer = GateEvaluateApi.InputSerializer(data=body)
    return dict(serializer.validated_data) if serializer.is_valid() else None


@settings(max_examples=600, deadline=None, derandomize=True, database=None)
@given(BODIES)
@example({"model": "credit-scorer", "version": 3, "target": "production"})
@example({"model": "credit-scorer", "version": "3", "target": "staging"})
def test_plain_path_agrees_with_the_serializer(body: Any) -> None:
    plain = plain_evaluate_request(body)
    if plain is not None:
        assert plain == _serializer_result(body)


def test_plain_path_takes_what_ci_sends() -> None:
    """Not vacuous: the usual bodies do take the plain path."""
    assert plain_evaluate_request({"model": "credit-scorer", "version": "3", "target": "production"}) == {
        "model": "credit-scorer",
        "version": 3,
        "target": "production",
    }
    assert (
        plain_evaluate_request({"model": "m", "version": 2**31 - 1, "target": "staging", "x": 1}) is not None
    )
    for refused in ({"model": "m", "version": True, "target": "staging"}, {"model": "é", "version": 1}):
        assert plain_evaluate_request(refused) is None
