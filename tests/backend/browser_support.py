"""Headless Chromium for the page's tests: Debian's ``chromium`` and ``chromium-driver`` (``.ci/run``
installs them), driven by Selenium with that binary and driver (nothing is downloaded), a fresh
profile folder per browser, and no traffic but to the backend on 127.0.0.1."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,1000")


def find_browser() -> tuple[str, str] | None:
    """(chromium, chromedriver) when both are installed."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def open_browser(browser: str, driver: str) -> tuple[Any, Path]:
    """A headless Chromium under Selenium, and its profile folder (removed by the caller)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = Path(tempfile.mkdtemp(prefix="dotflow-backend-chromium-"))
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(executable_path=driver)), profile
