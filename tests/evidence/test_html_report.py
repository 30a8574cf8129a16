"""``maip-dr report``: a single-file Allure 3 report of a real game day, rendered offline in
Chromium.

Builds the report of (a copy of) the session's shared game day (tests/shared_gameday.py: every
stage ran, and a team's --features scenarios beside ours) with the project's Allure 3
(``npm ci``),
opens ``index.html`` from ``file://`` in headless Chromium driven through the DevTools protocol
and reads ``document.body.innerText``: every scenario name and the environment must be in the
rendered text, and the page must make no network request. Skips, naming what is missing,
without Node.js, the installed Allure 3 or Chromium.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from shared_gameday import DRILL_ID, TEAM_SCENARIOS, SharedGameDay

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "",
                             shutil.which("chromium-browser") or "") if p and Path(p).exists()),
                None)

pytestmark = [
    pytest.mark.gameday,
    pytest.mark.skipif(shutil.which("node") is None, reason="Node.js (node) is not installed"),
    pytest.mark.skipif(not (ROOT / "node_modules" / "allure" / "cli.js").is_file(),
                       reason="Allure 3 is not installed: run `npm ci` in the project root"),
    pytest.mark.skipif(CHROMIUM is None,
                       reason="Chromium is not installed (apt-get install -y chromium)"),
]


# Opens every collapsed tree group and the environment panel's "Show more".
EXPAND = """
document.querySelectorAll('[data-testid=tree-arrow]').forEach(a => a.click());
[...document.querySelectorAll('button')].filter(b => /show more/i.test(b.innerText))
    .forEach(b => b.click());
"""


class Page:
    """A minimal Chrome DevTools protocol client for one page (websocket-client)."""

    def __init__(self, ws_url: str):
        import websocket

        self._ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True)
        self._id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._id += 1
        self._ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            message = json.loads(self._ws.recv())
            if message.get("id") == self._id:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def text(self) -> str:
        result = self.call("Runtime.evaluate", expression="document.body.innerText",
                           returnByValue=True)
        return str(result.get("result", {}).get("value") or "")

    def wait_text(self, *needles: str, timeout_s: float = 20.0) -> str:
        deadline = time.monotonic() + timeout_s
        text = ""
        while time.monotonic() < deadline:
            text = self.text()
            if all(n in text for n in needles):
                return text
            time.sleep(0.3)
        return text

    def close(self) -> None:
        self._ws.close()


@pytest.fixture
def chromium(tmp_path: Path) -> Any:
    process = subprocess.Popen(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--disable-dev-shm-usage", "--remote-debugging-address=127.0.0.1",
         "--remote-debugging-port=0", f"--user-data-dir={tmp_path / 'profile'}",
         "--window-size=1400,1000", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        port = None
        deadline = time.monotonic() + 30
        assert process.stderr is not None
        while port is None and time.monotonic() < deadline:
            line = process.stderr.readline()
            match = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            if match:
                port = int(match.group(1))
            elif not line and process.poll() is not None:
                break
        assert port is not None, "Chromium did not start its DevTools endpoint"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
            targets = json.load(answer)
        page = Page(next(t for t in targets if t["type"] == "page")["webSocketDebuggerUrl"])
        yield page
        page.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_report_renders_every_scenario_and_the_environment_offline(
        tmp_path: Path, chromium: Page, embedded_gameday: SharedGameDay) -> None:
    assert embedded_gameday.returncode == 0, embedded_gameday.output
    reports = tmp_path / "reports"  # a copy: the shared evidence is never modified
    shutil.copytree(embedded_gameday.workdir / "reports", reports)
    attempt = reports / DRILL_ID / "attempt-1"
    names = sorted({json.loads(p.read_text())["name"]
                    for p in (attempt / "allure-results").glob("*-result.json")})
    assert len(names) >= 5
    for stage in ("The DR replica becomes a standalone writer",
                  "The platform is back in its steady state",
                  *TEAM_SCENARIOS):  # a team's own scenarios (--features) as well as ours
        assert any(stage in name for name in names), names

    maip_dr = Path(sys.executable).parent / "maip-dr"
    done = subprocess.run([str(maip_dr), "report", DRILL_ID,
                           "--reports", str(reports)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    index = reports / DRILL_ID / "html" / "index.html"
    assert index.is_file()
    html = index.read_text()
    assert "googletagmanager" not in html

    chromium.call("Network.enable")
    chromium.call("Page.enable")
    chromium.call("Page.navigate", url=index.as_uri())
    chromium.wait_text("1. readiness before the drill", timeout_s=30)  # phase groups
    chromium.call("Runtime.evaluate", expression=EXPAND)  # phase groups and "Show more"
    text = chromium.wait_text(*names, "drill.id", timeout_s=20)
    missing = [n for n in names if n not in text]
    assert not missing, f"not rendered: {missing}\n---\n{text[:3000]}"
    assert "[SIMULATED]" in text
    for needle in ("SIMULATED run", "target.kind", "time_scale", "drill.id", DRILL_ID,
                   "config.sha256", "operator", "version.pytest-bdd"):
        assert needle in text, f"{needle!r} not in the rendered environment:\n{text[:3000]}"

    requests = [e["params"]["request"]["url"] for e in chromium.events
                if e.get("method") == "Network.requestWillBeSent"]
    remote = [u for u in requests if not u.startswith(("file:", "data:", "blob:", "about:"))]
    assert not remote, f"the report fetched from the network: {remote}"
