"""The per-user cooldown, on a clock the test moves by hand."""

from __future__ import annotations

import pytest

from bot.cooldown import Cooldown


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_second_question_within_the_window_waits_for_the_rest() -> None:
    clock = Clock()
    cooldown = Cooldown(3, clock=clock)
    assert cooldown.retry_after(1) == 0
    clock.now += 1
    assert cooldown.retry_after(1) == pytest.approx(2)
    clock.now += 2
    assert cooldown.retry_after(1) == 0


def test_refused_attempts_do_not_extend_the_wait() -> None:
    clock = Clock()
    cooldown = Cooldown(3, clock=clock)
    cooldown.retry_after(1)
    for _ in range(5):
        clock.now += 0.5
        cooldown.retry_after(1)
    clock.now += 0.5  # 3 s after the question that was answered
    assert cooldown.retry_after(1) == 0


def test_other_users_are_unaffected() -> None:
    cooldown = Cooldown(3, clock=Clock())
    assert cooldown.retry_after(1) == 0
    assert cooldown.retry_after(2) == 0
    assert cooldown.retry_after(1) > 0
    assert cooldown.retry_after(3) == 0


def test_zero_turns_it_off() -> None:
    cooldown = Cooldown(0, clock=Clock())
    assert all(cooldown.retry_after(1) == 0 for _ in range(10))


def test_negative_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        Cooldown(-1)


def test_memory_is_pruned_of_expired_users(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.cooldown._PRUNE_ABOVE", 10)
    clock = Clock()
    cooldown = Cooldown(3, clock=clock)
    for user in range(10):
        cooldown.retry_after(user)
    clock.now += 5
    cooldown.retry_after(99)
    assert cooldown.retry_after(0) == 0  # forgotten, then counted again
    assert len(cooldown._last) <= 2
