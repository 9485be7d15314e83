"""Assertions on belfry's router, shared by the Prosody and ejabberd tests.
Each takes a logged-in harness.Client on a server that belfry is attached to."""

import time
import xml.etree.ElementTree as ET

from harness import (COMPONENT, ECHO, NS_CLIENT, NS_DISCO_INFO, NS_DISCO_ITEMS, NS_ECHO,
                     NS_PING, NS_STANZAS, NS_VERSION, VERSION, Client, iq_error_condition)

CORE_FEATURES = {NS_DISCO_INFO, NS_DISCO_ITEMS, NS_PING, NS_VERSION}
UNKNOWN_NS = "urn:example:belfry-test:no-such-namespace"
NOBODY = "nobody@" + COMPONENT


def dump(el):
    return ET.tostring(el, encoding="unicode")


def result_query(reply, ns, frm):
    assert reply.get("type") == "result", f"expected a result from {frm}: {dump(reply)}"
    assert reply.get("from") == frm, dump(reply)
    q = reply.find("{%s}query" % ns)
    assert q is not None, f"no <query xmlns='{ns}'/> in {dump(reply)}"
    return q


def identities(q):
    return {(i.get("category"), i.get("type"), i.get("name"))
            for i in q.findall("{%s}identity" % NS_DISCO_INFO)}


def features(q):
    return {f.get("var") for f in q.findall("{%s}feature" % NS_DISCO_INFO)}


def check_disco_info_domain(c: Client):
    q = result_query(c.query(COMPONENT, NS_DISCO_INFO), NS_DISCO_INFO, COMPONENT)
    assert ("component", "generic", "belfry") in identities(q), identities(q)
    missing = (CORE_FEATURES | {NS_ECHO}) - features(q)
    assert not missing, f"missing features {missing}; got {features(q)}"


def check_disco_items_domain(c: Client):
    q = result_query(c.query(COMPONENT, NS_DISCO_ITEMS), NS_DISCO_ITEMS, COMPONENT)
    items = q.findall("{%s}item" % NS_DISCO_ITEMS)
    assert [i.get("jid") for i in items] == [ECHO], dump(q)
    assert (items[0].get("name") or "").strip(), f"echo item has no name: {dump(q)}"


def check_disco_info_echo(c: Client):
    q = result_query(c.query(ECHO, NS_DISCO_INFO), NS_DISCO_INFO, ECHO)
    assert any(cat == "component" and typ == "generic" for cat, typ, _ in identities(q)), \
        identities(q)
    missing = {NS_DISCO_INFO, NS_ECHO} - features(q)
    assert not missing, f"missing features {missing}; got {features(q)}"


def check_ping(c: Client, to):
    r = c.iq(to, "get", f"<ping xmlns='{NS_PING}'/>")
    assert r.get("type") == "result", dump(r)
    assert r.get("from") == to, dump(r)
    assert len(list(r)) == 0, f"ping result is not empty: {dump(r)}"


def check_version(c: Client):
    q = result_query(c.query(COMPONENT, NS_VERSION), NS_VERSION, COMPONENT)
    assert q.findtext("{%s}name" % NS_VERSION) == "belfry", dump(q)
    assert q.findtext("{%s}version" % NS_VERSION) == VERSION, dump(q)


def assert_error(reply, condition, etype=None):
    assert reply.get("type") == "error", f"expected an error: {dump(reply)}"
    err = iq_error_condition(reply)
    assert err is not None, f"error without <error/>: {dump(reply)}"
    typ, conds = err
    assert conds == [condition], f"expected <{condition}/>: {dump(reply)}"
    if etype:
        assert typ == etype, f"expected error type {etype}: {dump(reply)}"


def check_unknown_namespace(c: Client, iq_type, to=COMPONENT):
    r = c.iq(to, iq_type, f"<frobnicate xmlns='{UNKNOWN_NS}'/>")
    assert r.get("from") == to, dump(r)
    assert_error(r, "service-unavailable", "cancel")


def check_unknown_address_iq(c: Client):
    r = c.query(NOBODY, NS_DISCO_INFO)
    assert r.get("from") == NOBODY, dump(r)
    assert_error(r, "service-unavailable")


def check_unknown_address_message(c: Client):
    mid = c.message(NOBODY, "is anybody there?", "chat")
    r = c.wait_stanza(lambda e: e.tag == "{%s}message" % NS_CLIENT and e.get("id") == mid,
                      5, what=f"error reply to message {mid} sent to {NOBODY}")
    assert r.get("from") == NOBODY, dump(r)
    assert r.get("to") == c.full_jid, dump(r)
    assert_error(r, "service-unavailable")


def check_echo(c: Client, mtype):
    body = f"echo test {mtype} {Client.new_id()} <&> \u00e9\u266b"
    c.message(ECHO, body, mtype)
    r = c.wait_stanza(lambda e: e.tag == "{%s}message" % NS_CLIENT
                      and e.findtext("{%s}body" % NS_CLIENT) == body,
                      5, what=f"echo of {body!r}")
    assert r.get("from") == ECHO, dump(r)
    assert r.get("to") == c.full_jid, dump(r)
    assert (r.get("type") or "normal") == (mtype or "normal"), dump(r)


def check_results_and_errors_not_answered(c: Client):
    ids = []
    for to in (COMPONENT, ECHO, NOBODY):
        i1, i2 = Client.new_id(), Client.new_id()
        ids += [i1, i2]
        c.send_raw(f"<iq xmlns='jabber:client' type='result' to='{to}' id='{i1}'/>")
        c.send_raw(f"<iq xmlns='jabber:client' type='error' to='{to}' id='{i2}'>"
                   f"<error type='cancel'><item-not-found xmlns='{NS_STANZAS}'/></error></iq>")
    # belfry handles its stream in order: once this ping is answered, any
    # answer to the stanzas above would already be on its way.
    check_ping(c, COMPONENT)
    time.sleep(0.5)
    answered = [e for e in c.received if e.get("id") in ids]
    assert not answered, "belfry answered iq result/error: " + "; ".join(map(dump, answered))


def check_error_message_not_answered(c: Client):
    mid = Client.new_id()
    c.send_raw(f"<message xmlns='jabber:client' type='error' to='{NOBODY}' id='{mid}'>"
               f"<error type='cancel'><item-not-found xmlns='{NS_STANZAS}'/></error></message>")
    check_ping(c, COMPONENT)
    time.sleep(0.5)
    answered = [e for e in c.received if e.get("id") == mid]
    assert not answered, "belfry answered an error message: " + "; ".join(map(dump, answered))
