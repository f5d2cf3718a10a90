"""Open a page in headless Chromium over the DevTools protocol: the sizes of its plots,
the errors it logged, and a screenshot (tornado's websocket client; tornado comes with
dask.distributed)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--remote-debugging-port=0",
    "--window-size=1280,1024",
)
START_S = 60.0  # seconds Chromium may take to start on a loaded machine
SIZES_JS = """JSON.stringify(Array.from(document.querySelectorAll('figure.plot svg')).map(e => {
  const r = e.getBoundingClientRect(); return [e.closest('figure').id, r.width, r.height]; }))"""


@dataclass
class PageCheck:
    plot_sizes: list[tuple[str, float, float]]
    errors: list[str]
    requests: list[str]  # every URL the page asked for
    screenshot_png: bytes


async def _session(url: str, page: Path) -> PageCheck:
    from tornado.websocket import websocket_connect

    connection = await websocket_connect(url, max_message_size=256 * 2**20)
    counter = 0
    errors: list[str] = []
    requests: list[str] = []

    async def call(method: str, **params: Any) -> dict[str, Any]:
        nonlocal counter
        counter += 1
        await connection.write_message(
            json.dumps({"id": counter, "method": method, "params": params})
        )
        while True:
            message = json.loads(await connection.read_message())
            if message.get("method") == "Runtime.exceptionThrown":
                errors.append(json.dumps(message["params"]["exceptionDetails"])[:500])
            elif message.get("method") == "Runtime.consoleAPICalled":
                if message["params"]["type"] in ("error", "assert"):
                    errors.append(json.dumps(message["params"]["args"])[:500])
            elif message.get("method") == "Log.entryAdded":
                if message["params"]["entry"]["level"] == "error":
                    errors.append(message["params"]["entry"]["text"])
            elif message.get("method") == "Network.requestWillBeSent":
                requests.append(message["params"]["request"]["url"])
            elif message.get("method") == "Page.loadEventFired":
                loaded.set()
            if message.get("id") == counter:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message["result"])

    loaded = asyncio.Event()
    for domain in ("Page", "Runtime", "Log", "Network"):
        await call(f"{domain}.enable")
    await call("Page.navigate", url=page.resolve().as_uri())
    while not loaded.is_set():
        await call("Runtime.evaluate", expression="1")
    sizes = await call("Runtime.evaluate", expression=SIZES_JS, returnByValue=True)
    shot = await call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    connection.close()
    return PageCheck(
        [tuple(s) for s in json.loads(sizes["result"]["value"])],  # type: ignore[misc]
        errors,
        requests,
        base64.b64decode(shot["data"]),
    )


def check_page(page: Path) -> PageCheck:
    """Open ``page`` (a local file) in a fresh headless Chromium profile."""
    import urllib.request

    # Chromium's helper processes (renderer, GPU, crash handler) can outlive the browser
    # and still write to the profile: they run in their own process group, killed as one
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        process = subprocess.Popen(
            [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            deadline = time.monotonic() + START_S
            while not (port_file.exists() and port_file.read_text().strip()):
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("Chromium did not start its DevTools server")
                time.sleep(0.1)
            port = int(port_file.read_text().split()[0])
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list") as response:
                targets = json.loads(response.read())
            url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
            return asyncio.run(asyncio.wait_for(_session(url, page), START_S))
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
