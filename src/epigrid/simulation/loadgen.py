"""A small HTTP/1.1 load generator for benchmarks against our own server on the loopback.

asyncio with raw keep-alive connections and minimal parsing, so that on a shared 2-core machine the
generator costs as little CPU as possible. Every request's latency is kept for percentiles.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    requests: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


RequestMaker = Callable[[int, int], bytes]  # (connection number, request number) -> raw request bytes


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
            break
    if length:
        await reader.readexactly(length)
    return status


async def _connection(
    host: str, port: int, number: int, make: RequestMaker, quota: list[int], result: LoadResult
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        n = 0
        while quota[0] > 0:
            quota[0] -= 1
            request = make(number, n)
            n += 1
            started = time.perf_counter()
            writer.write(request)
            status = await _read_response(reader)
            result.latencies.append(time.perf_counter() - started)
            result.statuses[status] = result.statuses.get(status, 0) + 1
            result.requests += 1
    finally:
        writer.close()


def run_load(*, host: str, port: int, concurrency: int, total: int, make: RequestMaker) -> LoadResult:
    """Send ``total`` requests over ``concurrency`` keep-alive connections; wall time covers them all."""
    result = LoadResult()
    quota = [total]

    async def main() -> None:
        started = time.perf_counter()
        await asyncio.gather(*(_connection(host, port, i, make, quota, result) for i in range(concurrency)))
        result.seconds = time.perf_counter() - started

    # A thread of its own: the caller's thread may already run an event loop (Playwright's, in tests).
    runner = threading.Thread(target=asyncio.run, args=(main(),), name="loadgen")
    runner.start()
    runner.join()
    return result


def post_json(path: str, body: bytes, *, host: str, headers: dict[str, str]) -> bytes:
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
    ]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
