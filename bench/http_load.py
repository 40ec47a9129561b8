"""A lean HTTP/1.1 load generator for the benchmarks: keep-alive connections over asyncio
streams, JSON in and out, nothing else.

The benchmarks run the load generator, the API, the sandbox and Temporal on the same two cores.
httpx spent about 2.5 ms of CPU per request on the client side, as much as the API itself, which
made "enrollments/s through the API" measure the load generator as much as the API. This client
spends a tenth of that; the bare side (the Temporal client, Rust core) is as cheap.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import urlsplit

IDLE_SECONDS = 3.0  # a keep-alive connection idle longer is reopened rather than reused


class HttpError(RuntimeError):
    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(f"HTTP {status}: {body[:300]!r}")
        self.status = status
        self.body = body


class Connection:
    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        self.extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.last_used = 0.0

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        if self.writer is not None and time.monotonic() - self.last_used > IDLE_SECONDS:
            await self.close()  # the server may be closing it (uvicorn: 5 s keep-alive)
        if self.writer is None:
            await self._open()
        assert self.reader is not None and self.writer is not None
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{self.extra}"
            f"Content-Type: application/json\r\nContent-Length: {len(body or b'')}\r\n\r\n"
        )
        self.writer.write(head.encode("latin-1") + (body or b""))
        status_line = await self.reader.readline()
        if not status_line:
            await self.close()
            raise ConnectionError("connection closed by the server")
        status = int(status_line.split()[1])
        length, chunked, close = 0, False, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif name == "connection" and value.lower() == "close":
                close = True
        if chunked:
            data = bytearray()
            while True:
                size = int((await self.reader.readline()).strip() or b"0", 16)
                if size == 0:
                    await self.reader.readline()
                    break
                data += await self.reader.readexactly(size)
                await self.reader.readline()
            payload = bytes(data)
        else:
            payload = await self.reader.readexactly(length) if length else b""
        if close:
            await self.close()
        self.last_used = time.monotonic()
        return status, payload

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
        self.reader = self.writer = None


class LeanClient:
    """`concurrency` keep-alive connections; `post_json` takes a free one (or waits)."""

    def __init__(self, base_url: str, headers: dict[str, str], concurrency: int) -> None:
        parts = urlsplit(base_url)
        self.free: asyncio.Queue[Connection] = asyncio.Queue()
        for _ in range(concurrency):
            self.free.put_nowait(Connection(parts.hostname or "127.0.0.1", parts.port, headers))

    async def post_json(self, path: str, body: Any) -> Any:
        connection = await self.free.get()
        try:
            status, payload = await connection.request("POST", path, json.dumps(body).encode())
        except BaseException:
            await connection.close()
            raise
        finally:
            self.free.put_nowait(connection)
        if status >= 400:
            raise HttpError(status, payload)
        return json.loads(payload) if payload else None

    async def aclose(self) -> None:
        while not self.free.empty():
            await self.free.get_nowait().close()
