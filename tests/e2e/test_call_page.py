"""The call page (examples/call-page) as a newcomer gets it: this test runs
scripts/run-local.sh itself (Prosody serving the page on its http port,
belfry with echo, proxy65 and call), reads the URL, password and belfry's
log path from what it prints, and opens the page in headless Chromium
(playwright-core, Debian's chromium, fake capture devices), clicking the
page's own buttons.

  * demo calls echo@relay.localhost: the page decodes its video back (more
    than MIN_FRAMES frames, the <video> has a size) and its audio (energy
    and level > 0), read from the page's own getStats state; the Jingle log
    on the page shows the session; Hang up ends the call with `success`
    and belfry logs that session's end.  This Chromium runs as a desktop
    browser does: no loopback ICE (no --allow-loopback-in-peer-connection),
    mDNS host-name hiding on, and a non-loopback address to gather on (a
    veth pair inside the test's namespace, 192.0.2.10): it must reach
    belfry's 127.0.0.1 candidates from that address, as a person's browser
    on the machine running run-local.sh does;
  * two pages, demo and demo2, call each other through the relay
    (demo2\\40localhost@relay.localhost): demo2's page rings, Answer, both
    decode the other's audio and video, each sees only relay addresses;
    the callee hangs up and the caller's page shows it; belfry logs the
    call's end;
  * Decline on the ringing page ends the caller's call with `decline`.

Runs in the e2e private network namespace (see conftest.py); apart from
the desktop case above, Chromium gathers on loopback
(--allow-loopback-in-peer-connection), as the other e2e peers do.
"""

import json
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

import e2e
from test_peers import MIN_FRAMES

RUN_LOCAL = e2e.REPO / "scripts" / "run-local.sh"
RELAY = "relay.localhost"
START_TIMEOUT = 300     # run-local: setup.sh check, ninja (no-op when built), bundle, start
CALL_TIMEOUT = 30       # a click to DTLS connected
MEDIA_TIMEOUT = 20      # connected to the decode thresholds

# As chromium-peer.mjs launches it (fake devices, loopback ICE, host IPs).
LOOPBACK_ICE = "--allow-loopback-in-peer-connection"
NO_MDNS = "--disable-features=WebRtcHideLocalIpsWithMdns"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
    LOOPBACK_ICE,
    "--autoplay-policy=no-user-gesture-required",
    "--disable-breakpad", "--disable-crash-reporter",
    NO_MDNS,
]
# What a desktop browser does by default: no ICE on loopback, host
# candidates hidden behind mDNS names until media permission is granted.
DESKTOP_ARGS = [a for a in CHROMIUM_ARGS if a not in (LOOPBACK_ICE, NO_MDNS)]

# The desktop browser's "LAN" address: a veth pair inside the test's own
# network namespace (no dummy module on these machines), TEST-NET-1.
DESKTOP_IF, DESKTOP_PEER_IF, DESKTOP_ADDR = "bfpage0", "bfpage1", "192.0.2.10"

# A small remote control for headless Chromium: JSON commands on stdin,
# one JSON answer per command on stdout. Run with the cwd in tests/e2e so
# that playwright-core comes from tests/e2e/node_modules.
BRIDGE_JS = r"""
import { chromium } from 'playwright-core';
import { createInterface } from 'node:readline';

const cfg = JSON.parse(process.env.BELFRY_BRIDGE);
const out = o => process.stdout.write(JSON.stringify(o) + '\n');
const browser = await chromium.launch({ executablePath: cfg.chromium, headless: true,
                                        args: cfg.args, timeout: 30000 });
// One context: the pages are two tabs of one browser, as a person would open them.
const context = await browser.newContext();
const pages = new Map();
const consoles = new Map();
out({ id: 0, ok: true, value: browser.version() });

async function run(c) {
  const page = pages.get(c.page);
  switch (c.op) {
    case 'open': {
      const p = await context.newPage();
      const lines = [];
      consoles.set(c.page, lines);
      p.on('console', m => { if (lines.length < 300) lines.push(`${m.type()}: ${m.text()}`.slice(0, 500)); });
      p.on('pageerror', e => lines.push(`pageerror: ${e.message}`));
      pages.set(c.page, p);
      const r = await p.goto(c.url, { timeout: c.timeout });
      return r ? r.status() : null;
    }
    case 'click': return void await page.click(c.selector, { timeout: c.timeout });
    case 'eval': return await page.evaluate(c.expr);
    case 'wait': return void await page.waitForFunction(c.expr, null, { timeout: c.timeout, polling: 100 });
    case 'screenshot': return void await page.screenshot({ path: c.path, fullPage: true });
    case 'console': return consoles.get(c.page) || [];
    case 'quit': await browser.close(); out({ id: c.id, ok: true }); process.exit(0);
    default: throw new Error(`unknown op ${c.op}`);
  }
}

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const c = JSON.parse(line);
  try {
    out({ id: c.id, ok: true, value: await run(c) });
  } catch (e) {
    out({ id: c.id, ok: false, error: String(e && e.message || e).slice(0, 3000) });
  }
}
await browser.close();
"""


class Browser:
    """Headless Chromium driven through BRIDGE_JS (a child of this test)."""

    def __init__(self, workdir, args=CHROMIUM_ARGS):
        self.workdir = Path(workdir)
        self.stderr_path = self.workdir / "browser.stderr"
        self.answers = {}
        self.seq = 0
        self._cond = threading.Condition()
        env = dict(os.environ, BELFRY_BRIDGE=json.dumps(
            {"chromium": os.environ.get("BELFRY_CHROMIUM", "/usr/bin/chromium"),
             "args": args}))
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                [e2e.NODE, "--input-type=module", "-e", BRIDGE_JS], cwd=e2e.HERE, env=env,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                start_new_session=True)
        e2e.adopt(self.proc.pid)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.version = self._answer(0, 60)

    def _read(self):
        for raw in self.proc.stdout:
            try:
                msg = json.loads(raw)
            except ValueError:
                continue
            with self._cond:
                self.answers[msg.get("id")] = msg
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def _answer(self, cid, timeout):
        deadline = time.monotonic() + timeout
        with self._cond:
            while cid not in self.answers:
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(
                        f"browser: no answer to command {cid} within {timeout}s (exit "
                        f"{self.proc.poll()}); stderr:\n{e2e._tail(self.stderr_path, 4000)}")
                self._cond.wait(min(left, 0.5))
            msg = self.answers.pop(cid)
        if not msg["ok"]:
            raise BrowserError(msg["error"])
        return msg.get("value")

    def cmd(self, op, timeout=30, **kw):
        self.seq += 1
        cid = self.seq
        kw.update(id=cid, op=op, timeout=timeout * 1000)
        self.proc.stdin.write((json.dumps(kw) + "\n").encode())
        self.proc.stdin.flush()
        return self._answer(cid, timeout + 15)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.cmd("quit", timeout=10)
            except (AssertionError, BrowserError, OSError):
                pass
        if self.proc.poll() is None:
            kids = e2e.descendants(self.proc.pid)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            for pid in kids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.proc.wait(5)
        e2e.reap_orphans()


class BrowserError(AssertionError):
    pass


class Page:
    """One tab with the call page; `name` names it in the bridge."""

    def __init__(self, browser, name, url, belfry_log):
        self.b = browser
        self.name = name
        self.belfry_log = belfry_log
        status = self.b.cmd("open", page=name, url=url)
        assert status == 200, f"{url}: HTTP {status}"

    def click(self, selector, timeout=10):
        self.b.cmd("click", timeout, page=self.name, selector=selector)

    def eval(self, expr):
        return self.b.cmd("eval", page=self.name, expr=expr)

    def state(self):
        return self.eval("window.callPage.snapshot()")

    def call(self):
        return self.state()["call"]

    def wait(self, expr, timeout, what):
        try:
            self.b.cmd("wait", timeout, page=self.name, expr=expr)
        except BrowserError as e:
            raise AssertionError(f"{self.name}: {what}: {e}\n{self.dump()}") from None

    def screenshot(self, path):
        self.b.cmd("screenshot", page=self.name, path=str(path))

    def dump(self):
        """The page's state, log and console, and belfry's log, for failures."""
        try:
            st = self.state()
            log = "\n".join(f"{e['t']:8.2f} {e['kind']:6} {e['dir']:1} {e['text']}"
                            for e in st.pop("log", []))
            text = f"--- {self.name} state ---\n{json.dumps(st, indent=1)[:6000]}\n" \
                   f"--- {self.name} page log ---\n{log[-8000:]}"
        except (AssertionError, OSError) as e:
            text = f"--- {self.name}: no state ({e}) ---"
        try:
            text += "\n--- console ---\n" + "\n".join(self.b.cmd("console", page=self.name)[-40:])
        except (AssertionError, OSError):
            pass
        return text + "\n--- belfry ---\n" + e2e._tail(self.belfry_log, 6000)

    def log_texts(self):
        """The page's log lines: '→ '/'← ' before Jingle/JMI stanzas, plain
        text for states."""
        return [f"{e['dir']} {e['text']}" if e["dir"] else e["text"] for e in self.state()["log"]]


# ---------------------------------------------------------------------------
# scripts/run-local.sh, as a newcomer runs it
# ---------------------------------------------------------------------------

class RunLocal:
    def __init__(self, workdir):
        self.stdout_path = Path(workdir) / "run-local.stdout"
        self.stderr_path = Path(workdir) / "run-local.stderr"
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(["bash", str(RUN_LOCAL)], cwd=e2e.REPO,
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                         start_new_session=True)
        e2e.adopt(self.proc.pid)
        self._wait_banner()

    def text(self):
        return self.stdout_path.read_text(errors="replace")

    def output(self):
        return (f"--- run-local stdout ---\n{e2e._tail(self.stdout_path, 4000)}\n"
                f"--- run-local stderr ---\n{e2e._tail(self.stderr_path, 6000)}")

    def _wait_banner(self):
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            text = self.text()
            if "Ctrl-C stops belfry" in text:
                break
            if self.proc.poll() is not None:
                raise AssertionError(f"run-local.sh exited {self.proc.returncode} before it was "
                                     f"ready\n{self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"run-local.sh not ready within {START_TIMEOUT}s\n"
                                     f"{self.output()}")
            time.sleep(0.2)
        m = re.search(r"call page\s+(http://127\.0\.0\.1:\d+/)\s", text)
        assert m, "run-local.sh printed no call page URL\n" + self.output()
        self.url = m.group(1)
        m = re.search(r"^\s*password\s+(\S+)\s*$", text, re.M)
        assert m, self.output()
        self.password = m.group(1)
        m = re.search(r"logs\s+(\S+belfry\.log)", text)
        assert m, self.output()
        self.belfry_log = Path(m.group(1))
        assert self.belfry_log.is_file(), self.output()

    def belfry_text(self):
        try:
            return self.belfry_log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_belfry(self, pattern, timeout):
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.belfry_text()):
            if time.monotonic() > deadline:
                raise AssertionError(f"no /{pattern}/ in belfry's log within {timeout}s:\n"
                                     f"{self.belfry_text()[-6000:]}")
            time.sleep(0.1)

    def stop(self):
        """SIGTERM (what Ctrl-C does): it must stop belfry and Prosody and
        exit 0."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(40)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
                raise AssertionError("run-local.sh did not stop within 40 s of SIGTERM\n"
                                     + self.output()) from None
        return self.proc.returncode


@pytest.fixture(scope="module")
def run_local(requirements, tmp_path_factory):
    rl = RunLocal(tmp_path_factory.mktemp("run-local"))
    failed = True
    try:
        yield rl
        failed = False
    finally:
        rc = rl.stop()
        if not failed:
            # The banner's Ctrl-C promise: both stopped cleanly, files removed.
            assert rc == 0, f"run-local.sh exited {rc} after SIGTERM\n{rl.output()}"
            assert not rl.belfry_log.exists(), "run-local.sh left its files behind"


@pytest.fixture
def browser(workdir):
    b = Browser(workdir)
    yield b
    b.close()


def ip(*args):
    r = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, f"ip {' '.join(args)}: {r.stderr}"


@pytest.fixture
def desktop_browser(workdir, private_netns):
    """Chromium as on a desktop (DESKTOP_ARGS) with a non-loopback address
    to gather on; the interface is removed afterwards."""
    assert e2e.in_private_netns(), "only inside the test's own network namespace"
    ip("link", "add", DESKTOP_IF, "type", "veth", "peer", "name", DESKTOP_PEER_IF)
    try:
        ip("addr", "add", f"{DESKTOP_ADDR}/24", "dev", DESKTOP_IF)
        ip("link", "set", DESKTOP_PEER_IF, "up")
        ip("link", "set", DESKTOP_IF, "up")
        b = Browser(workdir, DESKTOP_ARGS)
        try:
            yield b
        finally:
            b.close()
    finally:
        ip("link", "del", DESKTOP_IF)   # takes its peer with it


def open_page(browser, run_local, name, account, **query):
    q = "&".join(f"{k}={v}" for k, v in dict(query, **{"as": account}).items())
    page = Page(browser, name, f"{run_local.url}?{q}", run_local.belfry_log)
    page.wait("window.callPage && window.callPage.state.ready", 10, "page ready")
    # config.json came with the page: the form is filled in.
    assert page.eval("document.getElementById('jid').value") == f"{account}@localhost"
    assert page.eval("document.getElementById('password').value") == run_local.password
    page.click("#login")
    page.wait("window.callPage.state.loggedIn", 15, "login")
    return page


def wait_connected(page):
    page.wait("window.callPage.state.call && window.callPage.state.call.phase === 'connected'",
              CALL_TIMEOUT, "call connected")


def wait_decoding(page):
    """The page's own getStats numbers reach the thresholds, and the remote
    <video> shows frames."""
    page.wait(f"""(() => {{ const c = window.callPage.state.call;
                 return c && c.stats.video_frames_decoded > {MIN_FRAMES} &&
                        c.stats.audio_energy > 0 && c.stats.audio_level_peak > 0 &&
                        document.getElementById('remote-video').videoWidth > 0; }})()""",
              MEDIA_TIMEOUT, "audio and video decoded")
    call = page.call()
    info = page.dump()
    assert call["phase"] == "connected", info
    assert call["stats"]["video_frames_decoded"] > MIN_FRAMES, info
    assert call["stats"]["audio_energy"] > 0, info
    assert call["stats"]["audio_samples"] > 0, info
    assert call["stats"]["dtls_state"] == "connected", info
    return call


def record(name, pages, wall):
    line = {"test": name, "wall_s": round(wall, 1),
            "pages": [{k: p.call().get(k) for k in ("peer", "phase", "reason", "ended_by",
                                                    "connected_at", "stats")} for p in pages]}
    print(json.dumps(line))
    if os.environ.get("BELFRY_E2E_RESULTS"):
        with open(os.environ["BELFRY_E2E_RESULTS"], "a") as f:
            f.write(json.dumps(line) + "\n")


def test_page_calls_echo(run_local, desktop_browser, workdir):
    started = time.monotonic()
    page = open_page(desktop_browser, run_local, "demo", "demo")
    page.click("#call-echo")
    wait_connected(page)
    call = wait_decoding(page)
    info = page.dump()
    assert call["peer"] == f"echo@{RELAY}", info
    assert call["direction"] == "outgoing", info
    # The browser's non-loopback address to belfry's loopback candidate.
    assert call["stats"]["local_pair"].startswith(f"udp {DESKTOP_ADDR}:"), info
    assert call["stats"]["remote_pair"].startswith("udp 127.0.0.1:"), info
    log = page.log_texts()
    assert any(t.startswith(f"→ session-initiate") and f"to echo@{RELAY}" in t for t in log), info
    assert any(t.startswith(f"← session-accept") and f"from echo@{RELAY}" in t for t in log), info
    assert "ICE connected" in log or "ICE completed" in log, info
    assert "peer connection connected (ICE + DTLS)" in log, info
    page.screenshot(workdir / "echo-call.png")

    page.click("#hangup")
    page.wait("window.callPage.state.call.phase === 'ended'", 10, "hang-up")
    call = page.call()
    assert (call["reason"], call["ended_by"]) == ("success", "local"), page.dump()
    assert any(t.startswith("→ session-terminate") and "reason success" in t
               for t in page.log_texts()), page.dump()
    # belfry ended that very session because the page hung up.
    run_local.wait_belfry(rf"session {re.escape(call['sid'])} with demo@localhost/\S+ ended: success",
                          10)
    record("call page -> echo", [page], time.monotonic() - started)


def test_pages_call_each_other_through_relay(run_local, browser, workdir):
    started = time.monotonic()
    # demo2 sends the page's generated test pattern and tone instead of the
    # (fake) camera: that path is proven too.
    demo2 = open_page(browser, run_local, "demo2", "demo2", source="test")
    demo = open_page(browser, run_local, "demo", "demo")
    calls_before = run_local.belfry_text().count("ended it:")

    demo.click("#call-demo2")
    demo2.wait("!document.getElementById('incoming').hidden", CALL_TIMEOUT, "incoming call shown")
    text = demo2.eval("document.getElementById('incoming-text').textContent")
    assert text == f"demo@localhost (through {RELAY}) is calling", demo2.dump()
    demo.wait("window.callPage.state.call.phase === 'ringing'", 10, "caller sees ringing")
    demo2.click("#answer")

    wait_connected(demo)
    wait_connected(demo2)
    c1 = wait_decoding(demo)
    c2 = wait_decoding(demo2)
    assert c1["peer"] == f"demo2\\40localhost@{RELAY}", demo.dump()
    assert c2["peer"].startswith(f"demo\\40localhost@{RELAY}/"), demo2.dump()
    assert c2["jmi"] and c2["direction"] == "incoming", demo2.dump()
    # Each side's media path ends at belfry (loopback), never at the other tab.
    for p, c in ((demo, c1), (demo2, c2)):
        assert c["stats"]["remote_pair"].startswith("udp 127.0.0.1:"), p.dump()
    # Neither page's log ever names the other's real JID as a peer.
    assert not any("from demo2@localhost/" in t or "to demo2@localhost/" in t
                   for t in demo.log_texts()), demo.dump()
    assert not any("from demo@localhost/" in t or "to demo@localhost/" in t
                   for t in demo2.log_texts()), demo2.dump()
    demo.screenshot(workdir / "relay-demo.png")
    demo2.screenshot(workdir / "relay-demo2.png")

    # The callee hangs up; the caller's page shows why.
    demo2.click("#hangup")
    demo.wait("window.callPage.state.call.phase === 'ended'", 10, "caller sees the hang-up")
    c1, c2 = demo.call(), demo2.call()
    assert (c2["reason"], c2["ended_by"]) == ("success", "local"), demo2.dump()
    assert (c1["reason"], c1["ended_by"]) == ("success", "remote"), demo.dump()
    run_local.wait_belfry(rf"session {re.escape(c1['sid'])} with demo@localhost/\S+ ended: success",
                          10)
    assert run_local.belfry_text().count("ended it:") > calls_before
    record("call page demo -> demo2 through the relay", [demo, demo2],
           time.monotonic() - started)


def test_callee_declines_through_relay(run_local, browser):
    """Decline on the ringing page: the caller's page shows `decline` from
    the other side, belfry ends the caller's session with it."""
    demo2 = open_page(browser, run_local, "demo2", "demo2")
    demo = open_page(browser, run_local, "demo", "demo")
    demo.click("#call-demo2")
    demo2.wait("!document.getElementById('incoming').hidden", CALL_TIMEOUT, "incoming call shown")
    demo2.click("#decline")
    demo.wait("window.callPage.state.call.phase === 'ended'", 10, "caller sees the decline")
    c1, c2 = demo.call(), demo2.call()
    assert (c2["reason"], c2["ended_by"]) == ("decline", "local"), demo2.dump()
    assert (c1["reason"], c1["ended_by"]) == ("decline", "remote"), demo.dump()
    assert c1["connected_at"] is None and c2["connected_at"] is None
    assert any(t.startswith("→ JMI reject to demo\\40localhost@relay.localhost/")
               for t in demo2.log_texts()), demo2.dump()
    assert demo2.eval("document.getElementById('incoming').hidden"), demo2.dump()
    run_local.wait_belfry(rf"session {re.escape(c1['sid'])} with demo@localhost/\S+ ended: decline",
                          10)
