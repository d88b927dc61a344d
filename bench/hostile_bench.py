"""Resources under hostile load: the mock's RSS growth after 64 uploads of 10 MiB (goal
≤ 150 MB), and a good client's worst latency while the journal is read after 200 bodies of
1 MiB (goal ≤ 1 s). The mock runs in its own process so its RSS is measured alone."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

GOAL_RSS_MB = 150.0
GOAL_LATENCY_S = 1.0
UPLOADS = 64
UPLOAD_BYTES = 10 << 20
BODIES = 200
BODY_BYTES = (1 << 20) - 64
PATH = "/secretstore/app-store/secrets/plain"
CLIENT_TIMEOUT = 10.0
READER_TIMEOUT = 120.0


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _upload(port: int, size: int) -> int:
    """POST `size` bytes (Content-Length framed) and return the answer's status."""
    piece = b"x" * (1 << 20)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        head = f"POST {PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\n\r\n"
        try:
            sock.sendall(head.encode())
            for _ in range(size // len(piece)):
                sock.sendall(piece)
        except OSError:
            pass  # the mock answers 413 and closes before the upload ends
        answer = sock.recv(200)
    return int(answer[9:12]) if answer.startswith(b"HTTP/1.1 ") else 0


def rss_growth(info: dict[str, object], pid: int) -> float:
    port = urlsplit(str(info["federation_url"])).port or 0
    _upload(port, 1 << 20)
    before = _rss_mb(pid)
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: _upload(port, UPLOAD_BYTES), range(UPLOADS)))
    if any(status != 413 for status in statuses):
        raise RuntimeError(f"uploads were not all refused with 413: {sorted(set(statuses))}")
    return _rss_mb(pid) - before


def worst_latency_while_reading_journal(info: dict[str, object]) -> float:
    fed = urlsplit(str(info["federation_url"]))
    admin = urlsplit(str(info["admin_url"]))
    body = b'{"pad":"' + b"a" * (BODY_BYTES - 10) + b'"}'
    headers = {"Authorization": f"Bearer {info['token']}", "Content-Type": "application/json"}
    conn = http.client.HTTPConnection(fed.hostname, fed.port, timeout=30)
    for _ in range(BODIES):
        conn.request("POST", PATH, body=body, headers=headers)
        conn.getresponse().read()
    conn.close()
    worst = 0.0
    stop = threading.Event()

    def good_client() -> None:
        nonlocal worst
        client = http.client.HTTPConnection(fed.hostname, fed.port, timeout=CLIENT_TIMEOUT)
        while not stop.is_set():
            started = time.perf_counter()
            try:
                client.request("POST", PATH, body=str(info["body"]), headers=headers)
                client.getresponse().read()
            except OSError:  # a timeout counts as the whole wait
                client.close()
                client = http.client.HTTPConnection(fed.hostname, fed.port, timeout=CLIENT_TIMEOUT)
            worst = max(worst, time.perf_counter() - started)
        client.close()

    thread = threading.Thread(target=good_client)
    thread.start()
    try:
        reader = http.client.HTTPConnection(admin.hostname, admin.port, timeout=READER_TIMEOUT)
        try:
            reader.request("GET", "/journal")
            reader.getresponse().read()
        except OSError:
            pass  # the figure is the good client's wait, however the read ends
        reader.close()
    finally:
        stop.set()
        thread.join()
    return worst


def serve() -> None:
    """The measured mock: prints its URLs and a caller's token, serves until stdin closes."""
    from mockserver.runtime import MockServer

    with tempfile.TemporaryDirectory(prefix="esi-hostile-") as state:
        server = MockServer(state_dir=state, refresh_volumes=False).start()
        alpha = server.clusters["alpha"]
        body = json.dumps({"ca.crt": base64.b64encode(alpha.ca.cert_pem).decode()})
        print(
            json.dumps(
                {
                    "federation_url": server.federation_url,
                    "admin_url": server.admin_url,
                    "token": alpha.mint("team-a/web", duration=7200),
                    "body": body,
                }
            ),
            flush=True,
        )
        sys.stdin.read()
        server.stop()


def run() -> Iterator[tuple[str, bool]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.hostile_bench"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        info = json.loads(process.stdout.readline())  # type: ignore[union-attr]
        growth = rss_growth(info, process.pid)
        yield (
            f"hostile: RSS growth after {UPLOADS} uploads of 10 MiB: {growth:.1f} MB "
            f"(goal ≤ {GOAL_RSS_MB:.0f} MB)",
            growth <= GOAL_RSS_MB,
        )
        worst = worst_latency_while_reading_journal(info)
        yield (
            f"hostile: good client's worst latency while the journal is read after {BODIES} "
            f"bodies of 1 MiB: {worst:.3f} s (goal ≤ {GOAL_LATENCY_S:.0f} s)",
            worst <= GOAL_LATENCY_S,
        )
    finally:
        process.stdin.close()  # type: ignore[union-attr]
        process.wait(timeout=30)


if __name__ == "__main__":
    serve()
