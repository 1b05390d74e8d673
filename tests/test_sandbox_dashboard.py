"""The sandbox's dashboard at `/`, looked at in a real browser: Debian's headless Chromium driven through
chromedriver (selenium). scripts/test installs `chromium` and `chromium-driver` when they are missing; when
they cannot be had, this test fails saying so: it is never skipped.

After a batch on all four providers it must show the names, a preview <img> the browser decoded, the Other
Page record whose bytes never came, an injected fault marked in the request log, client text escaped, and
a file uploaded while the page is open (the page refreshes itself). Set SANDBOX_DASHBOARD_SCREENSHOT=PATH
to keep the screenshot (the README's docs/sandbox-dashboard.png is made this way).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import struct
import zlib
from pathlib import Path

import pytest
import requests

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1400,1000"]
HOSTILE_NAME = '<img src=x onerror="document.title=1">.png'


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A valid PNG of one colour with a lighter diagonal, made here (no image library needed)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    light = bytes(min(255, c + 90) for c in rgb)
    rows = b"".join(b"\0" + b"".join(light if abs(x - y) < 4 else bytes(rgb) for x in range(width))
                    for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@pytest.fixture
def browser(tmp_path, monkeypatch):
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not (os.access(path, os.X_OK) or shutil.which(path))]
    if missing:
        pytest.fail(f"the dashboard test needs Debian's headless Chromium; missing: {', '.join(missing)}. "
                    "Install it with `apt-get update && apt-get install -y chromium chromium-driver` "
                    "(scripts/test does this when it can)", pytrace=False)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager: never download a driver or a browser
    monkeypatch.setenv("SE_AVOID_STATS", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # the console, for the errors check
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _batch(cli, server, tmp_path: Path) -> None:
    """A little of everything: uploads on all four providers, a record without bytes, a fault, a hostile name."""
    env = server.env
    (tmp_path / "orange.png").write_bytes(png(64, 64, (230, 120, 30)))
    (tmp_path / "teal.png").write_bytes(png(64, 64, (20, 150, 140)))
    (tmp_path / "violet.png").write_bytes(png(64, 64, (120, 70, 200)))
    (tmp_path / "notes.txt").write_text("not an image")
    assert cli("otherpage", "upload", str(tmp_path / "orange.png")).code == 0
    assert cli("nationbuilder", "upload", str(tmp_path / "teal.png"), str(tmp_path / "notes.txt"),
               "--page", "downloads").code == 0
    assert cli("ofauth", "upload", str(tmp_path / "violet.png")).code == 0
    page = {"metadata": {"name": "Launch page", "description": "d", "image": "https://example.com/i.png"},
            "content": [], "links": [], "type": "utility", "visibility": "public", "categories": ["tools"]}
    (tmp_path / "page.json").write_text(json.dumps(page))
    assert cli("bitbadges", "upload", str(tmp_path / "page.json")).code == 0
    # An Other Page record whose form was never posted: a record, no bytes.
    requests.post(env["MEDIACTL_OTHERPAGE_BASE_URL"] + "/community/sandbox-community/file",
                  json={"name": "never-sent.png"}, headers={"X-Api-Key": env["MEDIACTL_OTHERPAGE_API_KEY"]},
                  timeout=10).raise_for_status()
    # A name that is HTML: the dashboard must show it as text.
    requests.post(env["MEDIACTL_NATIONBUILDER_BASE_URL"] + "/sites/sandbox/pages/downloads/attachments",
                  json={"attachment": {"filename": HOSTILE_NAME, "content_type": "text/plain",
                                       "content": base64.b64encode(b"x").decode()}},
                  headers={"Authorization": "Bearer " + env["MEDIACTL_NATIONBUILDER_ACCESS_TOKEN"]},
                  timeout=10).raise_for_status()
    # An OFAuth upload started and never sent.
    requests.post(env["MEDIACTL_OFAUTH_BASE_URL"] + "/v2/access/uploads/init",
                  json={"filename": "half.mp4", "size": 10, "contentType": "video/mp4"},
                  headers={"apiKey": env["MEDIACTL_OFAUTH_API_KEY"],
                           "x-connection-id": env["MEDIACTL_OFAUTH_CONNECTION_ID"]}, timeout=10).raise_for_status()
    server.control(fault_paths={"GET /attachments": ["503"]})  # the list below is retried past it
    assert cli("nationbuilder", "list", "--page", "downloads").code == 0


def test_dashboard_in_a_real_browser_shows_what_landed_and_refreshes(cli, sandbox_factory, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    server = sandbox_factory()
    _batch(cli, server, tmp_path)
    browser.get(server.base_url + "/")
    wait = WebDriverWait(browser, 30)
    wait.until(lambda d: all(img.get_attribute("data-loaded") for img in d.find_elements(By.CSS_SELECTOR,
                                                                                          "img.preview")))
    live = browser.find_element(By.ID, "live")
    text = live.text
    for name in ("orange.png", "teal.png", "notes.txt", "violet.png", "Launch page", "never-sent.png"):
        assert name in text, name
    sections = {s.get_attribute("id"): s for s in browser.find_elements(By.CSS_SELECTOR, "section.provider")}
    assert set(sections) == {"otherpage", "nationbuilder", "ofauth", "bitbadges"}
    assert "record only: no bytes" in sections["otherpage"].text
    assert "half.mp4" in sections["ofauth"].text and "upload pending: 0 of 1 parts" in sections["ofauth"].text

    previews = browser.find_elements(By.CSS_SELECTOR, "img.preview")
    assert len(previews) == 3  # the three PNGs; not the text file, the record without bytes or the page
    for img in previews:
        assert img.get_attribute("data-loaded") == "yes"
        assert browser.execute_script("return arguments[0].naturalWidth", img) == 64  # decoded by the browser

    faulty = browser.find_elements(By.CSS_SELECTOR, "#requests tr.request.fault")
    assert len(faulty) == 1 and "injected 503" in faulty[0].text and "/attachments" in faulty[0].text
    assert HOSTILE_NAME in text and browser.title == "mediactl sandbox"  # shown as text, never run
    assert not browser.find_elements(By.CSS_SELECTOR, 'img[src="x"]')

    (tmp_path / "late.png").write_bytes(png(64, 64, (200, 40, 90)))
    assert cli("nationbuilder", "upload", str(tmp_path / "late.png"), "--page", "downloads").code == 0
    wait.until(lambda d: "late.png" in d.find_element(By.ID, "live").text)  # the page polled and redrew
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, 'img.preview[data-loaded="yes"]')) == 4)

    shot = Path(os.environ.get("SANDBOX_DASHBOARD_SCREENSHOT") or tmp_path / "dashboard.png")
    browser.save_screenshot(str(shot))
    assert shot.read_bytes().startswith(b"\x89PNG")
    logged = [r["path"] for r in server.state()["requests"]]
    assert "/" not in logged and not any("/_sandbox" in path for path in logged)  # the page is not a request
    errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []  # no script error, nothing the page's Content-Security-Policy had to block
