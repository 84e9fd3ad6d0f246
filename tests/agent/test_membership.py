"""Membership merge rules and suspicion timers: pure, on a fake clock (plain floats)."""

from __future__ import annotations

from orchestrator.membership.tables import ALIVE, DEAD, SUSPECT, Change, Member, MemberTable
from orchestrator.membership.wire import MAX_SKEW_S, RESPONSE, PeerAuth, sign, verify

T = 5.0  # suspect_after_s


def member(name: str, **kw: object) -> Member:
    return Member(name=name, address=f"127.0.0.1:{10000 + len(name)}", **kw)  # type: ignore[arg-type]


def table(now: float = 0.0, *, name: str = "me") -> MemberTable:
    return MemberTable(me=member(name), suspect_after_s=T, forget_after_s=100.0, now=now)


def status(t: MemberTable, name: str) -> str | None:
    m = t.get(name)
    return m.status if m else None


def test_learns_new_members_and_takes_the_highest_heartbeat() -> None:
    t = table()
    assert t.merge([member("a", heartbeat=3)], now=1.0) == [Change("a", None, ALIVE, 0)]
    t.merge([member("a", heartbeat=2)], now=2.0)
    assert t.get("a").heartbeat == 3  # type: ignore[union-attr]
    t.merge([member("a", heartbeat=9)], now=3.0)
    assert t.get("a").heartbeat == 9  # type: ignore[union-attr]
    assert {m.name for m in t.members()} == {"me", "a"} and [p.name for p in t.peers()] == ["a"]


def test_higher_incarnation_wins_whatever_its_status() -> None:
    t = table()
    t.merge([member("a", incarnation=2, status=DEAD)], now=0.0)
    assert t.merge([member("a", incarnation=3, status=ALIVE)], now=1.0) == [Change("a", DEAD, ALIVE, 3)]
    assert t.merge([member("a", incarnation=2, status=DEAD)], now=2.0) == []  # old news
    assert status(t, "a") == ALIVE
    t.merge([member("a", incarnation=4, status=SUSPECT)], now=3.0)
    assert status(t, "a") == SUSPECT


def test_same_incarnation_the_worse_status_wins() -> None:
    t = table()
    t.merge([member("a", incarnation=1)], now=0.0)
    t.merge([member("a", incarnation=1, status=SUSPECT)], now=1.0)
    assert status(t, "a") == SUSPECT
    t.merge([member("a", incarnation=1, status=ALIVE, heartbeat=50)], now=2.0)
    assert status(t, "a") == SUSPECT  # a heartbeat does not clear suspicion; only a refutation does
    t.merge([member("a", incarnation=1, status=DEAD)], now=3.0)
    t.merge([member("a", incarnation=1, status=SUSPECT)], now=4.0)
    assert status(t, "a") == DEAD


def test_a_member_refutes_suspicion_with_a_higher_incarnation() -> None:
    t = table()
    t.me.incarnation = 2
    changes = t.merge([member("me", incarnation=2, status=SUSPECT)], now=1.0)
    assert changes == [Change("me", SUSPECT, ALIVE, 3)] and t.me.incarnation == 3 and t.me.status == ALIVE
    assert t.merge([member("me", incarnation=2, status=DEAD)], now=2.0) == []  # stale: already refuted
    # the refutation spreads: the old incarnation's suspicion loses to it elsewhere
    other = table(name="b")
    other.merge([member("me", incarnation=2, status=SUSPECT)], now=0.0)
    other.merge(t.members(), now=3.0)
    assert status(other, "me") == ALIVE and other.get("me").incarnation == 3  # type: ignore[union-attr]


def test_a_restarted_member_adopts_its_own_counters_and_refutes_death() -> None:
    t = table()  # restarted: incarnation 0, heartbeat 0
    t.merge([member("me", incarnation=4, heartbeat=700, status=DEAD)], now=1.0)
    assert (t.me.incarnation, t.me.heartbeat, t.me.status) == (5, 700, ALIVE)
    t.beat()
    other = table(name="b")
    other.merge([member("me", incarnation=4, heartbeat=700, status=DEAD)], now=0.0)
    moved = Member(name="me", address="10.0.0.9:7000", incarnation=5, heartbeat=701)
    other.merge([moved], now=2.0)
    assert other.get("me") == moved  # alive again, at its new address


def test_silence_probe_suspect_dead_forget() -> None:
    t = table()
    t.merge([member("a", heartbeat=1)], now=0.0)
    assert t.silent(now=T) == [] and t.fresh("a", now=T)
    t.merge([member("a", heartbeat=2)], now=4.0)  # heard again: the clock restarts
    assert t.silent(now=4.0 + T) == []
    assert t.silent(now=4.0 + T + 0.1) == ["a"] and not t.fresh("a", now=4.0 + T + 0.1)
    assert t.suspect("a", now=10.0) == Change("a", ALIVE, SUSPECT, 0)
    assert t.suspect("a", now=10.0) is None and t.silent(now=11.0) == []  # already suspect
    assert t.expire(now=10.0 + T) == []
    assert t.expire(now=10.1 + T) == [Change("a", SUSPECT, DEAD, 0)]
    assert [p.name for p in t.peers()] == []  # the dead are not gossiped with
    assert t.expire(now=10.1 + T + 100.0) == []
    assert t.expire(now=10.2 + T + 100.0) == [Change("a", DEAD, None, 0)] and t.get("a") is None


def test_a_heartbeat_at_the_same_count_is_not_news() -> None:
    t = table()
    t.merge([member("a", heartbeat=5)], now=0.0)
    t.merge([member("a", heartbeat=5)], now=T)
    assert t.silent(now=T + 0.1) == ["a"]


def test_me_is_never_silent_suspect_or_dead() -> None:
    t = table()
    assert t.silent(now=1000.0) == [] and t.suspect("me", now=1.0) is None and t.expire(now=1000.0) == []
    assert t.fresh("me", now=1000.0)


def test_newest_entry_carries_address_and_capacity() -> None:
    t = table()
    t.merge([member("a", heartbeat=1, capacity="cpu=2")], now=0.0)
    t.merge([Member(name="a", address="h:1", heartbeat=2, capacity="cpu=4")], now=1.0)
    assert t.get("a").capacity == "cpu=4" and t.get("a").address == "h:1"  # type: ignore[union-attr]
    t.merge([member("a", heartbeat=1, capacity="cpu=2")], now=2.0)
    assert t.get("a").capacity == "cpu=4"  # type: ignore[union-attr]


def test_signatures() -> None:
    body = b'{"sender":"a"}'
    header = sign("k", method="POST", path="/gossip", body=body, now=1000.0)
    assert verify("k", header, method="POST", path="/gossip", body=body, now=1010.0) is None
    problem = verify("other", header, method="POST", path="/gossip", body=body, now=1000.0)
    assert problem is not None and "bad signature" in problem
    assert verify("k", header, method="POST", path="/gossip", body=body + b" ", now=1000.0)
    assert verify("k", header, method=RESPONSE, path="/gossip", body=body, now=1000.0)  # not an answer
    assert "away" in verify("k", header, method="POST", path="/gossip", body=body,  # type: ignore[operator]
                            now=1000.0 + MAX_SKEW_S + 1)
    assert verify("", header, method="POST", path="/gossip", body=body, now=1000.0)
    assert verify("k", None, method="POST", path="/gossip", body=body, now=1000.0)
    auth = PeerAuth(bearer="cred")
    assert auth.request_headers(member("a"), method="POST", path="/gossip", body=body, now=0) is None  # no key yet
    server = Member(name="s", address="http://127.0.0.1:6443", role="server")
    headers = auth.request_headers(server, method="POST", path="/gossip", body=body, now=0)
    assert headers is not None and headers["Authorization"] == "Bearer cred"
