"""`RedactionProcess`: deferred redaction in a child process at a lower CPU priority.

A redaction thread inside the server shares the interpreter lock and the cores with the requests: on 2 cores it
added about 6 ms to a short note's answer. The child process (`python -m divert.serving.audit.redaction_process`,
a fresh interpreter that inherits nothing of the server but two pipes) loads only the redactor (spaCy, without
torch) and runs at `nice` 10 by default, so the kernel gives the cores to the requests first and the child
redacts in the time left. Texts travel over its
stdin and stdout as length-prefixed JSON, in memory only; the child never writes anything else.

If the child dies, the batch it held is sent again to a new child; after `MAX_RESTARTS` failures in a row the
worker redacts in its own thread instead (slower answers, nothing lost).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import struct
import subprocess
import sys
from collections.abc import Sequence
from typing import IO, Any

log = logging.getLogger("divert.serving.audit")

READY = "ready"
START_TIMEOUT_S = 120.0
MAX_RESTARTS = 3
Redacted = tuple[str, dict[str, int]] | None  # None: the redactor raised on that text
_HEADER = struct.Struct(">I")


def _send(stream: IO[bytes], value: Any) -> None:
    data = json.dumps(value, ensure_ascii=False).encode("utf-8")
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _recv(stream: IO[bytes]) -> Any:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError("the other end closed the pipe")
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("the other end closed the pipe")
    return json.loads(data)


def child_main(argv: Sequence[str] | None = None) -> int:
    """The child (`python -m divert.serving.audit.redaction_process`): lower its priority, load the redactor,
    then answer each list of texts read on stdin with their redactions on stdout (length-prefixed JSON)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--no-ner", action="store_true")
    parser.add_argument("--nice", type=int, default=0)
    args = parser.parse_args(argv)
    from divert.model.redact import Redactor

    if args.nice:
        with contextlib.suppress(OSError):  # not permitted here: run at the normal priority
            os.nice(args.nice)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but frames goes to the parent's pipe
    redactor = Redactor(args.model, use_ner=not args.no_ner).load()
    _send(stdout, READY)
    while True:
        try:
            texts = _recv(stdin)
        except EOFError:  # the server went away
            return 0
        if texts is None:
            return 0
        out: list[Any] = []
        for text in texts:
            try:
                red = redactor.redact(text)
                out.append([red.text, red.counts()])
            except Exception:  # reported to the parent as a failure of this text; never the text itself
                out.append(None)
        _send(stdout, out)


class RedactionProcess:
    def __init__(self, model: str, *, use_ner: bool = True, nice: int = 10) -> None:
        self.model = model
        self.use_ner = use_ner
        self.nice = nice
        self._proc: subprocess.Popen[bytes] | None = None
        self._ready = False
        self.restarts = 0

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def start(self, *, wait: bool = False) -> None:
        """Start the child; it loads spaCy while the server loads its model. `wait`: until it is ready."""
        cmd = [sys.executable, "-m", "divert.serving.audit.redaction_process", "--model", self.model,
               "--nice", str(self.nice), *([] if self.use_ner else ["--no-ner"])]
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self._ready = False
        if wait:
            self._wait_ready()

    def _wait_ready(self) -> None:
        if self._ready:
            return
        try:
            assert self._proc is not None and self._proc.stdout is not None
            if _recv(self._proc.stdout) != READY:
                raise RuntimeError("the redaction process answered something else than ready")
        except (EOFError, ValueError) as exc:
            self._discard()
            raise RuntimeError("the redaction process did not start") from exc
        self._ready = True

    def redact(self, texts: Sequence[str]) -> list[Redacted]:
        """Redact `texts` in the child; a child that died is replaced and the batch sent again."""
        failures = 0
        while True:
            try:
                if self._proc is None:
                    self.start()
                self._wait_ready()
                assert self._proc is not None and self._proc.stdin is not None and self._proc.stdout is not None
                _send(self._proc.stdin, list(texts))
                result = _recv(self._proc.stdout)
                return [None if r is None else (str(r[0]), dict(r[1])) for r in result]
            except (EOFError, OSError, RuntimeError, ValueError) as exc:
                failures += 1
                self.restarts += 1
                log.error("redaction process failed (%s); restarting it (%d)", type(exc).__name__, failures)
                self._discard()
                if failures >= MAX_RESTARTS:
                    raise

    def stop(self) -> None:
        if self._proc is not None and self._proc.stdin is not None:
            with contextlib.suppress(OSError, ValueError):
                _send(self._proc.stdin, None)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(5)
        self._discard()

    def _discard(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


if __name__ == "__main__":
    sys.exit(child_main())
