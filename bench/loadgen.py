"""Load from wrk (Debian package `wrk`), parsed into req/s, median and p99."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


@dataclass(frozen=True)
class Result:
    requests_per_second: float
    median_ms: float
    p99_ms: float
    errors: int


def _ms(value: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s|m)$", value)
    if match is None:
        raise ValueError(f"unexpected wrk latency {value!r}")
    number, unit = match.groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("the benchmarks need wrk: apt-get install wrk (or brew install wrk)")
    return path


def _found(pattern: str, output: str) -> str:
    match = re.search(pattern, output, re.MULTILINE)
    if match is None:
        raise ValueError(f"wrk printed no {pattern!r}:\n{output}")
    return match.group(1)


def run(
    url: str, connections: int, seconds: float, headers: dict[str, str] | None = None
) -> Result:
    command = [require_wrk(), "--latency", f"-c{connections}", f"-t{min(connections, 2)}"]
    command.append(f"-d{max(1, round(seconds))}s")
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = SOCKET_ERRORS.search(output)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return Result(
        float(_found(r"Requests/sec:\s+([\d.]+)", output)),
        _ms(_found(r"^\s+50%\s+(\S+)", output)),
        _ms(_found(r"^\s+99%\s+(\S+)", output)),
        errors,
    )


def measure(
    url: str, headers: dict[str, str] | None = None, seconds: float = 5.0
) -> tuple[Result, Result]:
    """Throughput at 32 connections and latency at one, after a short warm-up."""
    run(url, 8, 1, headers)
    return run(url, 32, seconds, headers), run(url, 1, seconds, headers)


def table(rows: dict[str, tuple[Result, Result]]) -> str:
    lines = [f"{'':28} {'req/s @32':>10} {'median @1':>10} {'p99 @1':>9} {'errors':>7}"]
    for name, (load, single) in rows.items():
        lines.append(
            f"{name:28} {load.requests_per_second:10.0f} {single.median_ms:8.3f}ms "
            f"{single.p99_ms:7.3f}ms {load.errors + single.errors:7d}"
        )
    return "\n".join(lines)
