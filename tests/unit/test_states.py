import datetime as dt

from intygsgw.domain.states import State, StateEntry, is_archived, is_revoked, sent_to, visible_to

T0 = dt.datetime(2026, 1, 1, 8, 0, 0)


def at(minutes):
    return T0 + dt.timedelta(minutes=minutes)


HISTORY = [
    StateEntry(State.RECEIVED, "HSVARD", at(0)),
    StateEntry(State.SENT, "FKASSA", at(1)),
    StateEntry(State.SENT, "TRANSP", at(2)),
    StateEntry(State.DELETED, "INVANA", at(3)),
    StateEntry(State.RESTORED, "INVANA", at(4)),
    StateEntry(State.CANCELLED, "HSVARD", at(5)),
]


def test_citizen_sees_everything_newest_first():
    assert [e.timestamp for e in visible_to(HISTORY, "INVANA")] == [at(m) for m in (5, 4, 3, 2, 1, 0)]


def test_care_sees_no_archiving():
    assert [e.state for e in visible_to(HISTORY, "hsvard")] == [State.CANCELLED, State.SENT, State.SENT, State.RECEIVED]


def test_a_recipient_sees_only_its_own_sent_entry():
    seen = visible_to(HISTORY, "FKASSA")
    assert [(e.state, e.target) for e in seen] == [
        (State.CANCELLED, "HSVARD"),
        (State.SENT, "FKASSA"),
        (State.RECEIVED, "HSVARD"),
    ]


def test_archiving_newest_wins():
    assert not is_archived(HISTORY)  # restored after deleted
    assert is_archived([*HISTORY, StateEntry(State.DELETED, "INVANA", at(9))])
    assert not is_archived([StateEntry(State.RECEIVED, "HSVARD", at(0))])


def test_revoked_and_sent_flags():
    assert is_revoked(HISTORY)
    assert not is_revoked(HISTORY[:3])
    assert sent_to(HISTORY, "TRANSP") and not sent_to(HISTORY, "SKV")


def test_status_codes_round_trip():
    coded = [state for state in State if state.status_code is not None]
    assert len(coded) == 5
    for state in coded:
        assert State.from_status_code(state.status_code) is state


def test_version_1_handling_states_have_no_status_code():
    # Set only through SetCertificateStatus 1; KV_STATUS has no code for them.
    assert [s for s in State if s.status_code is None] == [State.UNHANDLED, State.IN_PROGRESS, State.PROCESSED]
