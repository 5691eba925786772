"""Test helpers (not tests): app servers with the guard, and nginx from deploy/nginx.conf.

``guarded_server`` runs ``python -m ui.guard run app.py`` (what deploy/Dockerfile runs) on a
free loopback port; ``render_nginx_conf`` fills deploy/nginx.conf's "test:" lines with a
listen port, replica addresses and paths under a temporary folder; ``running_nginx`` starts
Debian's nginx on it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NGINX_CONF = ROOT / "deploy" / "nginx.conf"


def run_async(coro):
    """``asyncio.run(coro)`` on a thread of its own, so it works whatever loop this thread
    has: while Playwright's sync API is open (the browser tests' fixtures), the main thread
    counts as running an event loop and ``asyncio.run`` there raises."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.read().strip() == b"ok"
    except OSError:
        return False


@contextlib.contextmanager
def guarded_server(log_path: Path, port: int | None = None, env: dict | None = None):
    """``python -m ui.guard run app.py`` on a loopback port; yields (base URL, log path)."""
    port = port or free_port()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ui.guard", "run", "app.py", "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1",
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while not healthy(f"{base}/_stcore/health"):
                if proc.poll() is not None:
                    raise RuntimeError(log_path.read_text(errors="replace")[-3000:])
                if time.monotonic() > deadline:
                    raise RuntimeError("server not healthy after 120 s")
                time.sleep(0.25)  # polling the health endpoint
            yield base, log_path
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)


def render_nginx_conf(listen: int, replicas: list[str], folder: Path,
                      template: str | None = None) -> str:
    """deploy/nginx.conf with its "test:" lines rewritten: ``listen`` on 127.0.0.1, one
    ``server`` line per replica address ("127.0.0.1:PORT"), pid, logs and temp paths in
    ``folder``. Everything else is the deployment's own text."""
    text = NGINX_CONF.read_text() if template is None else template
    out = []
    for line in text.splitlines():
        m = re.match(r"^(\s*)(\S+)\s.*#\s*test:\s*(\S+)", line)
        if not m:
            out.append(line)
            continue
        indent, directive, what = m.groups()
        if what == "replicas":
            rest = re.sub(r"^\s*server\s+\S+", "", line.split("#")[0]).strip()
            out += [f"{indent}server {r} {rest}".rstrip() for r in replicas]
        elif what == "listen":
            out.append(f"{indent}listen 127.0.0.1:{listen};")
        elif what == "pid":
            out.append(f"{indent}pid {folder}/nginx.pid;")
        elif what == "error_log":
            out.append(f"{indent}error_log {folder}/error.log info;")
        elif what == "access_log":
            out.append(f"{indent}access_log {folder}/access.log;")
        elif what == "temp":
            out.append(f"{indent}{directive} {folder}/{directive};")
        else:
            raise ValueError(f"unknown test: marker {what!r} in {line!r}")
    return "\n".join(out) + "\n"


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)


def check_nginx_conf(conf: Path, folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run([nginx_binary(), "-t", "-c", str(conf), "-p", str(folder), "-e",
                           str(folder / "error.log")], capture_output=True, text=True, timeout=30)


@contextlib.contextmanager
def running_nginx(listen: int, replicas: list[str], folder: Path):
    """nginx in the foreground on ``listen`` in front of ``replicas``; yields its base URL."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o777)
    conf = folder / "nginx.conf"
    conf.write_text(render_nginx_conf(listen, replicas, folder))
    checked = check_nginx_conf(conf, folder)
    if checked.returncode != 0:
        raise RuntimeError(f"nginx -t failed:\n{checked.stderr}")
    # Started as root, nginx runs its workers as nobody, who cannot enter pytest's private
    # (0700) temporary folders: a response too big for the buffers (the 4.7 MB Plotly bundle,
    # to a browser that reads slower than the app sends) failed to open its proxy temp file
    # and was cut short. The workers run as the user who started nginx instead.
    as_user = " user root;" if os.geteuid() == 0 else ""
    proc = subprocess.Popen([nginx_binary(), "-c", str(conf), "-p", str(folder), "-e",
                             str(folder / "error.log"), "-g", "daemon off;" + as_user],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{listen}"
    try:
        deadline = time.monotonic() + 30
        while not healthy(f"{base}/_stcore/health"):
            if proc.poll() is not None:
                raise RuntimeError((folder / "error.log").read_text(errors="replace")[-3000:])
            if time.monotonic() > deadline:
                raise RuntimeError("nginx not answering after 30 s")
            time.sleep(0.1)  # polling the health endpoint
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
