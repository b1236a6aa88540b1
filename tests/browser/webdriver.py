"""A minimal W3C WebDriver client over HTTP (``requests``), enough to drive headless Chromium
through chromedriver: sessions, navigation, elements, clicks, typing, scripts and screenshots.
"""

from __future__ import annotations

import base64
from typing import Any, Dict, List, Optional

import requests

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
"""The W3C key under which an element reference travels."""


class WebDriverError(RuntimeError):
    """An error answered by the WebDriver server (``error``, ``message``)."""


class Element:
    """A reference to an element of the current page."""

    def __init__(self, driver: "Driver", element_id: str):
        self.driver = driver
        self.id = element_id

    def click(self) -> None:
        """Clicks the element."""
        self.driver.call("POST", f"/element/{self.id}/click", {})

    def type(self, text: str) -> None:
        """Types ``text`` into the element (appending to its value)."""
        self.driver.call("POST", f"/element/{self.id}/value", {"text": text})

    def clear(self) -> None:
        """Clears an input."""
        self.driver.call("POST", f"/element/{self.id}/clear", {})

    def text(self) -> str:
        """The element's rendered text."""
        return self.driver.call("GET", f"/element/{self.id}/text")


class Driver:
    """One WebDriver session against a chromedriver at ``url``."""

    def __init__(self, url: str, chromium: str, width: int = 1366, height: int = 900):
        self.url = url.rstrip("/")
        self.http = requests.Session()
        caps = {
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": chromium,
                        "args": [
                            "--headless=new",
                            "--no-sandbox",
                            "--disable-gpu",
                            "--disable-dev-shm-usage",
                            "--no-first-run",
                            "--hide-scrollbars",
                            f"--window-size={width},{height}",
                        ],
                    },
                }
            }
        }
        r = self.http.post(f"{self.url}/session", json=caps, timeout=60)
        value = r.json().get("value", {})
        if r.status_code != 200 or "sessionId" not in value:
            raise WebDriverError(f"cannot start a session: {r.status_code} {value}")
        self.session = value["sessionId"]
        self.width = width
        self.height = height

    def call(self, method: str, path: str, body: Optional[Dict[str, Any]] = None) -> Any:
        """Sends a command of this session; returns its ``value`` or raises ``WebDriverError``."""
        r = self.http.request(method, f"{self.url}/session/{self.session}{path}", json=body, timeout=60)
        value = r.json().get("value")
        if r.status_code != 200:
            err = value if isinstance(value, dict) else {}
            raise WebDriverError(f"{method} {path}: {err.get('error')}: {err.get('message', '')[:300]}")
        return value

    def get(self, url: str) -> None:
        """Navigates to ``url`` and waits for the load to finish."""
        self.call("POST", "/url", {"url": url})

    def current_url(self) -> str:
        """The address of the current page."""
        return self.call("GET", "/url")

    def find(self, css: str) -> Element:
        """The first element matching a CSS selector (raises when none)."""
        value = self.call("POST", "/element", {"using": "css selector", "value": css})
        return Element(self, value[ELEMENT])

    def find_all(self, css: str) -> List[Element]:
        """Every element matching a CSS selector."""
        values = self.call("POST", "/elements", {"using": "css selector", "value": css})
        return [Element(self, v[ELEMENT]) for v in values]

    def script(self, source: str, *args: Any) -> Any:
        """Runs JavaScript in the page (``arguments`` are ``args``) and returns its result."""
        return self.call("POST", "/execute/sync", {"script": source, "args": list(args)})

    def screenshot(self, path: str) -> None:
        """Saves a PNG of the whole page, beyond the window (Chromium's DevTools capture)."""
        size = self.script(
            "const e = document.documentElement;"
            "return [Math.max(e.scrollWidth, e.clientWidth), Math.max(e.scrollHeight, document.body.scrollHeight)]"
        )
        clip = {"x": 0, "y": 0, "width": size[0], "height": min(size[1], 10000), "scale": 1}
        shot = self.call(
            "POST",
            "/goog/cdp/execute",
            {"cmd": "Page.captureScreenshot", "params": {"format": "png", "captureBeyondViewport": True, "clip": clip}},
        )
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))

    def quit(self) -> None:
        """Ends the session (closes the browser)."""
        try:
            self.http.delete(f"{self.url}/session/{self.session}", timeout=30)
        except requests.RequestException:
            pass
