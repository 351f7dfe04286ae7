"""How the browser screenshots in docs/ were taken: headless Chromium (Debian's `chromium` and `chromium-driver`)
under Selenium, as in the tests.

    python docs/screenshots.py dashboard VDL_LOG      # docs/visualdl_scalars.png: `visualdl --logdir VDL_LOG`
    python docs/screenshots.py demo MODEL_DIR         # docs/demo_page.png: `python -m paddle_gan.demo`

The runs shown (2026-11-29, 1,500 iterations each, one process, about 10 minutes on the 2-core machine):
    python -m paddle_gan.train -d mnist --num_passes 5 --iters_per_pass 300 -o log_every=10 --nproc 1 \
        --visualdl vdl_log
    python -m paddle_gan.train -d mnist --conf conf/mnist_cgan.toml --num_passes 5 --iters_per_pass 300 --nproc 1
    python docs/screenshots.py demo mnist_cgan_params/pass-00004
"""
import argparse
import os
import shutil
import signal
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


def demo(model_dir, port=8042):
    """The demo page of checkpoint `model_dir`, as it first draws."""
    server = subprocess.Popen([sys.executable, "-m", "paddle_gan.demo", "--model_dir", str(model_dir), "--port",
                               str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    browser = chromium(1000, 1200)
    try:
        wait_for_port(port, timeout=120)
        browser.get(f"http://127.0.0.1:{port}/")
        WebDriverWait(browser, 60).until(lambda b: b.find_element(By.ID, "grid").get_attribute("data-draws") == "1")
        browser.save_screenshot(str(DOCS / "demo_page.png"))
    finally:
        browser.quit()
        server.send_signal(signal.SIGINT)  # Ctrl-C: the demo removes its exported model
        server.wait()
    print(f"wrote {DOCS / 'demo_page.png'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="page", required=True)
    sub.add_parser("dashboard").add_argument("logdir")
    sub.add_parser("demo").add_argument("model_dir")
    args = parser.parse_args()
    if args.page == "dashboard":
        dashboard(args.logdir)
    else:
        demo(args.model_dir)
