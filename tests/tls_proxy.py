"""A TLS-terminating gRPC proxy (nginx) in front of a Temporal dev server, and the certificates
it and its clients use (made with the openssl CLI), for tests/test_temporal_tls.py.

The dev server speaks plain gRPC; nginx terminates TLS (optionally requiring a client
certificate signed by the test CA, or an API key as `authorization: Bearer <key>`) and passes the
calls on over HTTP/2 (`grpc_pass`), as a TLS-enabled Temporal or Temporal Cloud would be reached.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest


def require_nginx() -> str:
    """nginx's path (openssl is needed too); a skip with the reason when either is missing
    outside CI, a failure in CI (scripts/install-test-tools.sh installs both)."""
    nginx = next(
        (c for c in (shutil.which("nginx"), "/usr/sbin/nginx") if c and os.access(c, os.X_OK)),
        None,
    )
    if nginx and shutil.which("openssl"):
        return nginx
    missing = " and ".join(
        n for n, found in (("nginx", nginx), ("openssl", shutil.which("openssl"))) if not found
    )
    message = f"{missing} not installed (scripts/install-test-tools.sh installs it with apt-get)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@dataclass(frozen=True)
class Certificates:
    folder: Path

    def path(self, name: str) -> str:
        return str(self.folder / name)


def make_certificates(folder: Path) -> Certificates:
    """Two CAs (`ca` and `other-ca`); a server certificate for localhost / 127.0.0.1 signed by
    `ca`; client certificates signed by `ca` (`client`) and by `other-ca` (`rogue`).
    Files: <name>.pem and <name>.key."""
    folder.mkdir(parents=True, exist_ok=True)
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    for ca in ("ca", "other-ca"):
        _openssl(
            "req", "-x509", *ec, "-keyout", f"{ca}.key", "-out", f"{ca}.pem", "-days", "2",
            "-subj", f"/CN=journeys test {ca}",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            cwd=folder,
        )  # fmt: skip
    leaves = {
        "server": ("ca", "serverAuth", "subjectAltName=DNS:localhost,IP:127.0.0.1\n"),
        "client": ("ca", "clientAuth", ""),
        "rogue": ("other-ca", "clientAuth", ""),
    }
    for name, (ca, usage, extra) in leaves.items():
        extensions = folder / f"{name}.ext"
        extensions.write_text(
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
            f"extendedKeyUsage={usage}\n{extra}"
        )
        _openssl(
            "req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
            "-subj", f"/CN=journeys test {name}", cwd=folder,
        )  # fmt: skip
        _openssl(
            "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", extensions.name,
            cwd=folder,
        )  # fmt: skip
    return Certificates(folder)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class GrpcProxy:
    """nginx on a free port, TLS with the test server certificate, passing gRPC to `upstream`.
    `client_ca`: require a client certificate signed by it (mTLS). `api_key`: refuse calls
    without `authorization: Bearer <api_key>` (gRPC UNAUTHENTICATED)."""

    def __init__(
        self,
        folder: Path,
        *,
        upstream: str,
        certificates: Certificates,
        client_ca: str | None = None,
        api_key: str | None = None,
    ) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        client_auth = (
            f"ssl_client_certificate {client_ca};\n    ssl_verify_client on;" if client_ca else ""
        )
        key_check = (
            f'if ($http_authorization != "Bearer {api_key}") {{ return 401; }}' if api_key else ""
        )
        # Refusals as a gRPC server gives them (UNAUTHENTICATED), not as HTML pages: 401 for a
        # missing or wrong key, 495/496 for a client certificate that fails verification or
        # was not sent.
        temp = folder / "temp"
        temp.mkdir(exist_ok=True)
        self.config = folder / "nginx.conf"
        self.config.write_text(
            f"""
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log info;
events {{ worker_connections 256; }}
http {{
  access_log {folder}/access.log;
  client_body_temp_path {temp}/body;
  proxy_temp_path {temp}/proxy;
  fastcgi_temp_path {temp}/fastcgi;
  uwsgi_temp_path {temp}/uwsgi;
  scgi_temp_path {temp}/scgi;
  server {{
    listen 127.0.0.1:{self.port} ssl http2;
    ssl_certificate {certificates.path("server.pem")};
    ssl_certificate_key {certificates.path("server.key")};
    {client_auth}
    client_max_body_size 0;
    error_page 401 = @bad_key;
    error_page 495 496 = @bad_certificate;
    location @bad_key {{
      default_type application/grpc;
      add_header grpc-status 16 always;
      add_header grpc-message "missing or invalid API key" always;
      return 200;
    }}
    location @bad_certificate {{
      default_type application/grpc;
      add_header grpc-status 16 always;
      add_header grpc-message "client certificate missing or not trusted" always;
      return 200;
    }}
    location / {{
      {key_check}
      grpc_pass grpc://{upstream};
      grpc_read_timeout 300s;
      grpc_send_timeout 300s;
    }}
  }}
}}
"""
        )

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 20) -> GrpcProxy:
        nginx = require_nginx()
        self.process = subprocess.Popen(
            [nginx, "-c", str(self.config), "-p", str(self.folder), "-g", "daemon off;"]
            + ["-e", str(self.folder / "error.log")],  # not /var/log/nginx, even at start-up
            stdout=(self.folder / "nginx.out").open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while True:
            assert self.process.poll() is None, "nginx exited:\n" + self.tail()
            with socket.socket() as probe:
                probe.settimeout(0.2)
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            assert time.monotonic() < deadline, "nginx did not listen:\n" + self.tail()
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # SIGTERM: nginx's fast shutdown
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def tail(self, chars: int = 3000) -> str:
        text = ""
        for name in ("nginx.out", "error.log"):
            log = self.folder / name
            if log.exists():
                text += log.read_text(errors="replace")[-chars:]
        return text

    def __enter__(self) -> GrpcProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
