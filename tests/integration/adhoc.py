"""XEP-0050 ad-hoc commands from a test client (harness.Client) to belfry's
domain, and reading the XEP-0004 forms in the answers."""

from xml.sax.saxutils import quoteattr

from harness import COMPONENT, NS_CLIENT, NS_DISCO_ITEMS, NS_STANZAS

NS_COMMANDS = "http://jabber.org/protocol/commands"
NS_DATA = "jabber:x:data"


def execute(client, node, action=None, sessionid=None, fields=None, timeout=5.0):
    """Sends <command node action sessionid> (with a submitted form when
    fields is given) and returns the iq reply."""
    attrs = f" node={quoteattr(node)}"
    if action:
        attrs += f" action={quoteattr(action)}"
    if sessionid:
        attrs += f" sessionid={quoteattr(sessionid)}"
    body = ""
    if fields is not None:
        body = f"<x xmlns='{NS_DATA}' type='submit'>" + "".join(
            f"<field var={quoteattr(k)}><value>{v}</value></field>" for k, v in fields.items()
        ) + "</x>"
    return client.iq(COMPONENT, "set", f"<command xmlns='{NS_COMMANDS}'{attrs}>{body}</command>",
                     timeout)


def command_of(reply):
    c = reply.find("{%s}command" % NS_COMMANDS)
    assert c is not None, f"no <command/> in the reply"
    return c


def error_of(reply):
    """(type, [stanza conditions], [command conditions]) of an iq error."""
    err = reply.find("{%s}error" % NS_CLIENT)
    assert reply.get("type") == "error" and err is not None, "expected an iq error"
    conds = [c.tag.split("}", 1)[1] for c in err
             if c.tag.startswith("{%s}" % NS_STANZAS) and not c.tag.endswith("}text")]
    cmd = [c.tag.split("}", 1)[1] for c in err if c.tag.startswith("{%s}" % NS_COMMANDS)]
    return err.get("type"), conds, cmd


def form_of(command):
    x = command.find("{%s}x" % NS_DATA)
    assert x is not None, "no data form in the command"
    return x


def field_values(container):
    """var -> value of the <field/>s directly in container."""
    out = {}
    for f in container.findall("{%s}field" % NS_DATA):
        v = f.find("{%s}value" % NS_DATA)
        out[f.get("var")] = v.text if v is not None and v.text is not None else ""
    return out


def items_of(form):
    return [field_values(i) for i in form.findall("{%s}item" % NS_DATA)]


def command_items(client):
    """The command list a client sees (disco#items on the command node)."""
    r = client.query(COMPONENT, NS_DISCO_ITEMS, node=NS_COMMANDS)
    assert r.get("type") == "result"
    q = r.find("{%s}query" % NS_DISCO_ITEMS)
    return [(i.get("jid"), i.get("node")) for i in q.findall("{%s}item" % NS_DISCO_ITEMS)]


def list_sessions(client):
    r = execute(client, "list-sessions")
    assert r.get("type") == "result", r
    c = command_of(r)
    assert c.get("status") == "completed"
    return items_of(form_of(c))
