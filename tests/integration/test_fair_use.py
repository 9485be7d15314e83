"""Fair use (issue 10, findings 2 and 8): one account cannot take every
session slot ([limits] max-sessions-per-jid), and the echo's chat answers
are rate-limited per sender and never go to another bot's automatic reply
([echo] max-messages-per-minute, XEP-0334 hints, XEP-0203 delay).

A real Prosody 0.12, real slixmpp clients sending raw Jingle; no media
flows (fake candidates), so every session lasts until the test ends it
(ice-timeout is far beyond the test).
"""

import threading
import time
from xml.sax.saxutils import escape, quoteattr

import pytest

from harness import ECHO, NS_CLIENT, run_belfry, write_config
from relay_fixtures import _belfry_survives, belfry_fixture, client_fixture  # noqa: F401
from test_config import assert_config_error
from test_jingle import (JINGLE, MESSAGE, assert_result, dump, jingle, jingle_client, new_sid,
                         offer, reason_of, send_jingle, wait_jingle)

NS_HINTS = "urn:xmpp:hints"
NS_DELAY = "urn:xmpp:delay"

MEDIA = {"addresses": "127.0.0.1", "ice-timeout": "120"}
PER_JID = 2
# Bursts of a sixth: 2 messages, then one every 2 s.
PER_MINUTE = 12


relay = belfry_fixture("prosody", "belfry-fair-use",
                       limits={"max-sessions-per-jid": str(PER_JID)},
                       groups={"media": MEDIA, "echo": {"max-messages-per-minute": str(PER_MINUTE)}})
alice = client_fixture("alice", "prosody", lambda p: jingle_client(p, "alice", "fair"))
bob = client_fixture("bob", "prosody", lambda p: jingle_client(p, "bob", "fair"))


def end(client, sid):
    assert_result(send_jingle(client, jingle("session-terminate", sid,
                                             "<reason><success/></reason>")),
                  "session-terminate")


# ---------------------------------------------------------------------------
# sessions per bare JID
# ---------------------------------------------------------------------------

def test_one_jid_cannot_take_every_session(relay, alice, bob):
    sids = [new_sid("fair") for _ in range(PER_JID)]
    try:
        for sid in sids:
            assert_result(send_jingle(alice, offer(sid, alice.full_jid, video=False)),
                          "session-initiate")
            wait_jingle(alice, sid, "session-accept")

        # One more from the same account (another resource would count the
        # same: the limit is on the bare JID): busy.
        over = new_sid("fair-over")
        assert_result(send_jingle(alice, offer(over, alice.full_jid, video=False)),
                      "session-initiate")
        t = wait_jingle(alice, over, "session-terminate")
        assert reason_of(t)[0] == "busy", dump(t)
        relay.wait_log(f"{alice.full_jid} holds {PER_JID} sessions already "
                       "([limits] max-sessions-per-jid", 5)
        assert not [e for e in alice.received
                    if e.find(JINGLE) is not None and e.find(JINGLE).get("sid") == over
                    and e.find(JINGLE).get("action") == "session-accept"]

        # Someone else still gets a session.
        other = new_sid("fair-bob")
        assert_result(send_jingle(bob, offer(other, bob.full_jid, video=False)),
                      "session-initiate")
        wait_jingle(bob, other, "session-accept")
        end(bob, other)

        # A slot freed is a slot alice may use again.
        end(alice, sids.pop())
        again = new_sid("fair-again")
        assert_result(send_jingle(alice, offer(again, alice.full_jid, video=False)),
                      "session-initiate")
        wait_jingle(alice, again, "session-accept")
        sids.append(again)
    finally:
        for sid in sids:
            end(alice, sid)


def test_a_proposal_over_the_limit_is_rejected_busy(relay, alice):
    sids = [new_sid("fair-jmi") for _ in range(PER_JID)]
    try:
        for sid in sids:
            assert_result(send_jingle(alice, offer(sid, alice.full_jid, video=False)),
                          "session-initiate")
            wait_jingle(alice, sid, "session-accept")
        pid = new_sid("fair-propose")
        alice.send_raw(f"<message xmlns='jabber:client' type='chat' to={quoteattr(ECHO)} "
                       f"id='p-{pid}'><propose xmlns='urn:xmpp:jingle-message:0' id='{pid}'>"
                       "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/>"
                       "</propose></message>")
        NS_JMI = "urn:xmpp:jingle-message:0"

        def jmi(e, kind):
            c = e.find("{%s}%s" % (NS_JMI, kind)) if e.tag == MESSAGE else None
            return c is not None and c.get("id") == pid

        rej = alice.wait_stanza(lambda e: jmi(e, "reject"), 5, "JMI reject")
        r = rej.find("{%s}reject" % NS_JMI).find("{urn:xmpp:jingle:1}reason")
        assert r is not None and r.find("{urn:xmpp:jingle:1}busy") is not None, dump(rej)
        time.sleep(0.5)
        assert not [e for e in alice.received if jmi(e, "proceed")], "proceeded over the limit"
    finally:
        for sid in sids:
            end(alice, sid)


# ---------------------------------------------------------------------------
# echo messages
# ---------------------------------------------------------------------------

def echo_replies(client, start, body_prefix):
    with client._cond:
        return [e for e in client.received[start:]
                if e.tag == MESSAGE and e.get("from", "").split("/")[0] == ECHO
                and (e.findtext("{%s}body" % NS_CLIENT) or "").startswith(body_prefix)]


def test_echo_replies_carry_the_no_store_hint(relay, alice):
    time.sleep(60 / PER_MINUTE * 2)   # a full bucket
    start = len(alice.received)
    alice.message(ECHO, "hint-check")
    alice.wait_stanza(lambda e: e in echo_replies(alice, start, "hint-check"), 5, "echo")
    r = echo_replies(alice, start, "hint-check")[0]
    assert r.find("{%s}no-store" % NS_HINTS) is not None, dump(r)
    assert r.find("{%s}no-permanent-store" % NS_HINTS) is not None, dump(r)


MARKERS = {
    "no-store": ("chat", f"<no-store xmlns='{NS_HINTS}'/>"),
    "no-permanent-store": ("chat", f"<no-permanent-store xmlns='{NS_HINTS}'/>"),
    "delay": ("chat", f"<delay xmlns='{NS_DELAY}' stamp='2020-01-01T00:00:00Z'/>"),
    "groupchat": ("groupchat", ""),
    "headline": ("headline", ""),
}


def test_echo_does_not_answer_automatic_or_delayed_messages(relay, bob):
    time.sleep(60 / PER_MINUTE)   # a token: a refusal below is not the rate's
    start = len(bob.received)
    for marker, (type_, extra) in MARKERS.items():
        bob.send_raw(f"<message xmlns='jabber:client' type='{type_}' to={quoteattr(ECHO)} "
                     f"id='m-{marker}'><body>marked-{marker}</body>{extra}</message>")
    # The same sender's next plain message is answered: the marked ones were
    # not refused for their rate, and they came before it.
    bob.message(ECHO, "plain-after")
    bob.wait_stanza(lambda e: e in echo_replies(bob, start, "plain-after"), 5, "echo")
    time.sleep(0.3)
    assert echo_replies(bob, start, "marked-") == [], \
        "\n".join(map(dump, echo_replies(bob, start, "marked-")))


def test_echo_rate_is_per_sender(relay, alice, bob):
    time.sleep(60 / PER_MINUTE * 2)
    a0, b0 = len(alice.received), len(bob.received)
    for i in range(20):
        alice.message(ECHO, f"flood-{i}")
    bob.message(ECHO, "bob-meanwhile")
    bob.wait_stanza(lambda e: e in echo_replies(bob, b0, "bob-meanwhile"), 5, "bob's echo")
    time.sleep(1.5)
    got = echo_replies(alice, a0, "flood-")
    # The burst (2) and what refilled meanwhile (one per 5 s at most here).
    assert 1 <= len(got) <= 3, f"{len(got)} of 20 flooded messages echoed"
    relay.wait_log("([echo] max-messages-per-minute)", 5)


class EchoBot:
    """A second echo bot, as a naive one is written: every body it gets from
    the echo goes straight back (no hints, no rate)."""

    def __init__(self, client):
        self.client, self.sent = client, 0
        self.stop = threading.Event()
        self.start = len(client.received)
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        seen = self.start
        deadline = time.monotonic() + 30
        while not self.stop.is_set() and time.monotonic() < deadline and self.sent < 500:
            with self.client._cond:
                new = self.client.received[seen:]
                seen = len(self.client.received)
                if not new:
                    self.client._cond.wait(0.1)
            for e in new:
                if e.tag == MESSAGE and e.get("from", "").split("/")[0] == ECHO:
                    body = e.findtext("{%s}body" % NS_CLIENT)
                    if body is not None:
                        self.client.message(ECHO, body)
                        self.sent += 1

    def close(self):
        self.stop.set()
        self.thread.join(5)


def test_echo_against_another_echo_bot_stops(relay, prosody):
    bot = jingle_client(prosody, "bob", "echobot")
    b = EchoBot(bot)
    try:
        time.sleep(60 / PER_MINUTE * 2)
        start = len(bot.received)
        bot.message(ECHO, "ping-pong")
        time.sleep(4)
        n1 = len(echo_replies(bot, start, "ping-pong"))
        time.sleep(3)
        n2 = len(echo_replies(bot, start, "ping-pong"))
        # Without the rate limit this is hundreds a second.
        assert 1 <= n1 <= PER_MINUTE // 6 + 2, f"{n1} echoes in 4 s"
        assert n2 == n1, f"the loop goes on: {n1} echoes after 4 s, {n2} after 7 s"
    finally:
        b.close()
        bot.close()


# ---------------------------------------------------------------------------
# configuration errors name the file, the group and the key
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("config,group,key", [
    ({"limits": {"max-sessions-per-jid": "-1"}}, "limits", "max-sessions-per-jid"),
    ({"limits": {"max-sessions-per-jid": "many"}}, "limits", "max-sessions-per-jid"),
    ({"groups": {"echo": {"max-messages-per-minute": "-5"}}}, "echo", "max-messages-per-minute"),
    ({"modules": "call", "groups": {"call": {"max-calls-per-minute": "x"}}}, "call",
     "max-calls-per-minute"),
])
def test_bad_values_are_config_errors(tmp_path, config, group, key):
    path = write_config(tmp_path / "bad.conf", port=5347, **config)
    assert_config_error(path, run_belfry(["--check-config", "-c", str(path)]), group, key)
