"""Child processes of `journeys dev`: started in order, their output prefixed and interleaved
in the foreground, restarted in place when the stack supervises them (devstack/supervisor.py),
all stopped cleanly (SIGTERM, then SIGKILL) on Ctrl-C or when one dies for good."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

COLOURS = ("36", "33", "35", "32", "34", "31")


class PortInUse(RuntimeError):
    pass


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def require_free_ports(ports: dict[str, int]) -> None:
    """Fail before starting anything, naming every port that is taken and the option to move it."""
    taken = [
        f"{name} port {port} is already in use (choose another with --{name}-port)"
        for name, port in ports.items()
        if not port_is_free(port)
    ]
    if taken:
        raise PortInUse("; ".join(taken))


def wait_for_port(
    port: int, *, timeout: float, alive: Callable[[], bool], host: str = "127.0.0.1"
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError("the process exited before it was ready")
        with socket.socket() as probe:
            probe.settimeout(0.2)
            if probe.connect_ex((host, port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing answered on port {port} within {timeout:.0f} s")


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    pump: threading.Thread
    command: list[str] = field(default_factory=list)
    env: dict[str, str] | None = None
    cwd: Path | None = None
    colour: str = COLOURS[0]
    starts: int = 1


@dataclass
class ProcessGroup:
    log_dir: Path
    out: TextIO = field(default_factory=lambda: sys.stdout)
    children: list[Child] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(
        self,
        name: str,
        command: list[str],
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Child:
        colour = COLOURS[len(self.children) % len(COLOURS)]
        process, pump = self._spawn(name, command, env, cwd, colour)
        child = Child(name, process, pump, command, env, cwd, colour)
        self.children.append(child)
        return child

    def restart(self, child: Child) -> Child:
        """Start a dead child again, in its place (the stop order is unchanged)."""
        assert child.process.poll() is not None, f"{child.name} is still running"
        child.pump.join(timeout=2)
        child.process, child.pump = self._spawn(
            child.name, child.command, child.env, child.cwd, child.colour
        )
        child.starts += 1
        return child

    def _spawn(
        self,
        name: str,
        command: list[str],
        env: dict[str, str] | None,
        cwd: Path | None,
        colour: str,
    ) -> tuple[subprocess.Popen, threading.Thread]:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            bufsize=1,
            start_new_session=True,  # Ctrl-C reaches us only; we stop the children in order
        )
        log_file = (self.log_dir / f"{name}.log").open("a", encoding="utf-8")
        pump = threading.Thread(
            target=self._pump,
            args=(name, colour, process, log_file),
            daemon=True,
            name=f"log-{name}",
        )
        pump.start()
        return process, pump

    def _pump(self, name: str, colour: str, process: subprocess.Popen, log_file: TextIO) -> None:
        prefix = f"\033[{colour}m{name:>9}\033[0m | " if self.out.isatty() else f"{name:>9} | "
        assert process.stdout is not None
        for line in process.stdout:
            log_file.write(line)
            log_file.flush()
            with self._lock:
                self.out.write(prefix + line)
                self.out.flush()
        log_file.close()

    def say(self, text: str) -> None:
        with self._lock:
            self.out.write(text + "\n")
            self.out.flush()

    def dead(self) -> Child | None:
        return next((c for c in self.children if c.process.poll() is not None), None)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the children in reverse order of starting: SIGTERM, then SIGKILL if needed."""
        for child in reversed(self.children):
            if child.process.poll() is None:
                try:
                    os.killpg(child.process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        deadline = time.monotonic() + timeout
        for child in reversed(self.children):
            remaining = max(0.1, deadline - time.monotonic())
            try:
                child.process.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(child.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                child.process.wait()
        for child in self.children:
            child.pump.join(timeout=2)
