from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from benchmarks.guest import fastest, geomean

ROUNDS = [{"a": [1.0, 2.0, 4.0], "b": [2.0, 3.0, 2.0]},
          {"a": [0.5, 2.5, 3.0], "b": [2.5, 2.0, 2.5]}]


def test_each_interpreter_keeps_its_own_fastest_time() -> None:
    assert fastest(ROUNDS) == {"a": [0.5, 2.0, 3.0], "b": [2.0, 2.0, 2.0]}


def test_the_geomean_is_of_the_ratios_to_native() -> None:
    best = fastest(ROUNDS)
    assert math.isclose(geomean(best, 1), math.sqrt(2.0 / 0.5 * 2.0 / 2.0))
    assert math.isclose(geomean(best, 2), math.sqrt(3.0 / 0.5 * 2.0 / 2.0))


@given(st.lists(st.floats(min_value=0.01, max_value=100), min_size=2, max_size=20))
def test_a_round_s_geomean_lies_between_its_smallest_and_largest_ratio(guests: list[float]) -> None:
    times = {f"w{index}": [1.0, guest] for index, guest in enumerate(guests)}
    assert min(guests) * (1 - 1e-9) <= geomean(times, 1) <= max(guests) * (1 + 1e-9)
