"""How the browser screenshots in docs/ were taken: headless Chromium (Debian's `chromium` and `chromium-driver`)
under Selenium, as in the tests.

    python docs/screenshots.py dashboard VDL_LOG      # docs/visualdl_scalars.png: `visualdl --logdir VDL_LOG`
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

DOCS = Path(__file__).resolve().parent


def chromium(width, height):
    os.environ["SE_AVOID_STATS"] = "true"
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless=new", "--no-sandbox", f"--window-size={width},{height}", "--hide-scrollbars"):
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))


def wait_for_port(port, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.3)
    sys.exit(f"nothing listened on port {port}")


def dashboard(logdir, port=8041):
    """The scalars page with the loss group open and D's closed."""
    visualdl = Path(sys.executable).with_name("visualdl")
    logdir = Path(logdir).resolve()
    server = subprocess.Popen([str(visualdl), "--logdir", logdir.name, "--language", "en", "--host", "127.0.0.1",
                               "--port", str(port), "--disable-telemetry"], cwd=logdir.parent,  # the run's name: its folder's
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    browser = chromium(1400, 1120)
    try:
        wait_for_port(port)
        browser.get(f"http://127.0.0.1:{port}/app/scalar")
        wait = WebDriverWait(browser, 30)
        for group in ("loss", "D"):  # open loss, close D
            wait.until(lambda b: b.find_element(By.XPATH, f"//h3[normalize-space(text())='{group}']")).click()
        wait.until(lambda b: len(b.find_elements(By.TAG_NAME, "canvas")) == 4)
        time.sleep(2)  # the charts' entry animation
        browser.save_screenshot(str(DOCS / "visualdl_scalars.png"))
    finally:
        browser.quit()
        server.terminate()
    print(f"wrote {DOCS / 'visualdl_scalars.png'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="page", required=True)
    sub.add_parser("dashboard").add_argument("logdir")
    args = parser.parse_args()
    if args.page == "dashboard":
        dashboard(args.logdir)
