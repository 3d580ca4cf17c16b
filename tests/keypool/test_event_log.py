"""The admin API's memory of recent key events: paged by sequence number, bounded, honest about
what it dropped."""

from gateway.keypool.event_log import KeyEventLog
from gateway.keypool.events import KeyEvent


def _event(n: int) -> KeyEvent:
    return KeyEvent(event="cooling", provider="p", key_id=f"k{n}", at=float(n))


def test_pages_go_forward_from_the_last_number_seen() -> None:
    log = KeyEventLog(capacity=10)
    for n in range(1, 6):
        log.append(_event(n))
    first = log.after(0, limit=2)
    assert [e.key_id for e in first.events] == ["k1", "k2"] and first.last == 2
    rest = log.after(first.last, limit=100)
    assert [e.key_id for e in rest.events] == ["k3", "k4", "k5"] and rest.last == 5
    assert log.after(5, limit=100).events == [] and log.after(5, limit=100).last == 5
    assert not first.missed and not rest.missed


def test_a_reader_behind_the_capacity_is_told_it_missed_events() -> None:
    log = KeyEventLog(capacity=3)
    for n in range(1, 8):
        log.append(_event(n))
    page = log.after(1, limit=100)
    assert [e.key_id for e in page.events] == ["k5", "k6", "k7"] and page.missed
    assert not log.after(4, limit=100).missed


def test_a_cursor_from_before_a_restart_gets_the_newest_number_back() -> None:
    log = KeyEventLog()
    log.append(_event(1))
    page = log.after(40, limit=100)
    assert page.events == [] and page.last == 1  # below `after`: the reader starts over
