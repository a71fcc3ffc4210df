"""The write gate: one writer at a time across processes, and request threads giving way to their own."""

from __future__ import annotations

import threading

from intygsgw.storage.writegate import WriteGate


def _gate(tmp_path) -> WriteGate:
    return WriteGate(str(tmp_path / "gw.db"))


def _held_by_another_thread(gate: WriteGate) -> tuple[threading.Event, threading.Thread]:
    """A thread of this process holding ``gate`` until the returned event is set."""
    holding, let_go = threading.Event(), threading.Event()

    def hold() -> None:
        with gate:
            holding.set()
            let_go.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(10)
    return let_go, holder


def test_a_request_thread_gives_way_until_its_process_writer_lets_go(tmp_path):
    gate = _gate(tmp_path)
    let_go, holder = _held_by_another_thread(gate)
    order: list[str] = []

    def request() -> None:
        gate.give_way(at_most=30)
        order.append("request went on")

    thread = threading.Thread(target=request)
    thread.start()
    thread.join(0.2)  # a request that did not wait would be done by now
    order.append("writer let go")
    let_go.set()
    thread.join(10)
    holder.join(10)
    assert order == ["writer let go", "request went on"]


def test_the_writer_itself_never_waits_for_itself(tmp_path):
    gate = _gate(tmp_path)
    done = threading.Event()

    def writer() -> None:
        with gate:
            gate.give_way(at_most=30)  # a writer giving way to itself would sit out the 30 s
            done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    assert done.wait(10)
    thread.join(40)


def test_a_writer_of_another_process_is_not_given_way_to(tmp_path):
    # Another process's writer holds the same lock file through a descriptor of its own: this
    # process's request threads have the interpreter to themselves meanwhile.
    ours, theirs = _gate(tmp_path), _gate(tmp_path)
    with theirs:
        done = threading.Event()
        threading.Thread(target=lambda: (ours.give_way(at_most=30), done.set())).start()
        assert done.wait(10)


def test_a_long_hold_is_given_way_to_only_for_a_moment(tmp_path):
    # An operator's import may hold the gate for seconds; requests do not queue behind all of it.
    gate = _gate(tmp_path)
    let_go, holder = _held_by_another_thread(gate)
    done = threading.Event()
    threading.Thread(target=lambda: (gate.give_way(at_most=0.05), done.set())).start()
    try:
        assert done.wait(10)
        assert not let_go.is_set()  # still held when the request went on
    finally:
        let_go.set()
        holder.join(10)
