"""Serve a rendered nginx frontend configuration with a real nginx on 127.0.0.1.

The ConfigMap's ``default.conf`` is used as rendered except for the three things only a cluster
has, each replaced exactly where it stands (and counted, so the test fails when the rendered
text moves): the listen port, the root folder, the cluster's DNS server (nginx looks its name up
at start) and every backend Service's DNS name, which becomes the address of a recording backend
on 127.0.0.1.

If nginx is not installed, :func:`serve` raises: CI installs it (``.ci/install-system-deps``),
so the tests fail rather than being skipped.
"""

from __future__ import annotations

import http.client
import http.server
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

NGINX_PATHS = ("/usr/sbin/nginx", "/sbin/nginx")


def nginx_binary() -> str:
    found = shutil.which("nginx") or next((p for p in NGINX_PATHS if Path(p).exists()), None)
    if found is None:
        raise RuntimeError("nginx is not installed: run .ci/install-system-deps (nginx-light)")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Backend:
    """A backend that answers every request with 200 and records (method, path, headers)."""

    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    port: int = 0


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class Frontend:
    port: int
    backend: Backend

    def get(self, path: str, method: str = "GET", body: bytes | None = None) -> Response:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request(method, path, body=body)
            answer = connection.getresponse()
            return Response(
                answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
            )
        finally:
            connection.close()


@contextmanager
def _backend() -> Iterator[Backend]:
    backend = Backend()

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            backend.requests.append((self.command, self.path, dict(self.headers.items())))
            data = b"backend"
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            self._answer()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    backend.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield backend
    finally:
        server.shutdown()
        server.server_close()


def _replace(text: str, old: str, new: str, count: int) -> str:
    found = text.count(old)
    assert found == count, f"expected {old!r} {count} time(s) in the rendered config, got {found}"
    return text.replace(old, new)


@contextmanager
def serve(
    conf: str,
    root: Path,
    files: Mapping[str, str],
    *,
    port: int = 80,
    services: Mapping[str, int] | None = None,
) -> Iterator[Frontend]:
    """Run nginx on ``conf`` (a rendered ``default.conf``) serving ``files`` below ``root``.

    ``services`` maps each backend DNS name (``api.default.svc.cluster.local``) to how many
    times it stands in the config; all of them go to one recording backend."""
    html = root / "html"
    for name, text in files.items():
        target = html / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    html.mkdir(parents=True, exist_ok=True)
    with _backend() as backend:
        conf = _replace(conf, "root /usr/share/nginx/html;", f"root {html};", 1)
        conf = _replace(
            conf, "resolver kube-dns.kube-system.svc.cluster.local ", "resolver 127.0.0.1 ", 1
        )
        for name, count in (services or {}).items():
            conf = _replace(conf, f"http://{name}:", "http://127.0.0.1:", count)
            # The backend's port stands after the name; every backend is the recording one.
            conf = _swap_ports(conf, backend.port)
        temp = root / "temp"
        temp.mkdir(exist_ok=True)
        (root / "nginx.conf").write_text(
            "daemon off;\nmaster_process off;\nerror_log stderr warn;\n"
            f"pid {root}/nginx.pid;\nevents {{}}\nhttp {{\n"
            "    access_log off;\n    default_type application/octet-stream;\n"
            "    types { text/html html; application/javascript js; }\n"
            f"    client_body_temp_path {temp}/body;\n    proxy_temp_path {temp}/proxy;\n"
            f"    fastcgi_temp_path {temp}/fcgi;\n    uwsgi_temp_path {temp}/uwsgi;\n"
            f"    scgi_temp_path {temp}/scgi;\n"
            f"    include {root}/default.conf;\n}}\n"
        )
        command = [nginx_binary(), "-p", str(root), "-c", str(root / "nginx.conf")]
        # The free port found may be taken before nginx binds it (other tests run servers at
        # the same time): then nginx stops at once, and another port is tried.
        for attempt in range(5):
            listen = _free_port()
            listening = _replace(
                conf, f"    listen {port};\n", f"    listen 127.0.0.1:{listen};\n", 1
            )
            (root / "default.conf").write_text(listening)
            check = subprocess.run([*command, "-t"], capture_output=True, text=True, check=False)
            assert check.returncode == 0, (
                f"nginx refused the rendered config:\n{check.stderr}\n{listening}"
            )
            pid_file = root / "nginx.pid"
            pid_file.unlink(missing_ok=True)
            process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
            try:
                _wait_for(listen, process, pid_file)
            except AssertionError as exc:
                process.kill()
                process.wait(timeout=10)
                if "Address already in use" not in str(exc) or attempt == 4:
                    raise
                continue
            try:
                yield Frontend(listen, backend)
            finally:
                process.terminate()
                process.wait(timeout=10)
            return


def _swap_ports(conf: str, port: int) -> str:
    return re.sub(r"http://127\.0\.0\.1:[0-9]+;", f"http://127.0.0.1:{port};", conf)


def _wait_for(port: int, process: subprocess.Popen[str], pid_file: Path) -> None:
    """Wait until nginx listens on ``port``. nginx writes its pid file only once it has bound
    every port: before that, whatever answers on ``port`` is another test's server."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"nginx stopped: {process.stderr.read() if process.stderr else ''}"
            )
        if not pid_file.exists():
            time.sleep(0.02)
            continue
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        except OSError:
            time.sleep(0.05)
        else:
            return
    raise AssertionError("nginx did not start listening within 10 s")
