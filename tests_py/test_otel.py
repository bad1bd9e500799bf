"""OpenTelemetry export of a run's spans (`OMEGA_OTEL_EXPORTER`), checked against a real OTLP/HTTP
receiver started here: `http.server` on a free local port taking POST /v1/traces, bodies decoded
with the `opentelemetry-proto` package (the OTLP schema, independent of the engine's encoder).

Covered: one trace per run for two runs in this process and one in a child process (root span and
its five phases, parent links, names, attributes, durations, resource), the OTLP/JSON file mode
parsed as plain JSON, the switch off (the receiver gets nothing), profiling mode's sampled per-bar
spans, and dead endpoints (the run succeeds, its log has one WARN)."""

from __future__ import annotations

import itertools
import json
import math
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

import omega_v2

PHASES = {"data_load", "strategy_init", "backtest_loop", "metrics", "write"}
# Written out independently of the engine: what each kind of span may carry.
ROOT_KEYS = {"run_id", "strategy_name", "symbol", "timeframe", "busy_ns", "idle_ns"}
PHASE_KEYS = {"component", "phase", "busy_ns", "idle_ns"}
CONTEXT = {"strategy_name": "mean_reversion_z_score", "symbol": "EURUSD", "timeframe": "M5"}
WEEK = {"end_date": "2025-01-10"}
SEED = 918273645
# Per-bar spans are exported 1 in this many (docs/observability.md).
SAMPLE_EVERY = 1000


class Receiver:
    """A minimal OTLP/HTTP trace receiver: decodes each POST /v1/traces body and answers with an
    empty `ExportTraceServiceResponse`, as a collector does."""

    def __init__(self) -> None:
        self.requests: list[ExportTraceServiceRequest] = []
        self.bodies: list[bytes] = []
        received = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.path != "/v1/traces" or self.headers["Content-Type"] != "application/x-protobuf":
                    self.send_error(404)
                    return
                received.requests.append(ExportTraceServiceRequest.FromString(body))
                received.bodies.append(body)
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def spans_by_run(self) -> dict[str, list[Any]]:
        """run_id -> every span received in that run's requests (the root carries the run_id)."""
        out: dict[str, list[Any]] = {}
        for request in self.requests:
            spans = [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]
            roots = [s for s in spans if s.name == "backtest_run"]
            assert len(roots) == 1, "one run per request"
            out.setdefault(attributes(roots[0])["run_id"], []).extend(spans)
        return out

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def attributes(item: Any) -> dict[str, Any]:
    """Protobuf `KeyValue`s as a dict of plain values."""
    out = {}
    for kv in item.attributes:
        kind = kv.value.WhichOneof("value")
        out[kv.key] = getattr(kv.value, kind)
    return out


@pytest.fixture
def week_config(make_config: Any) -> Callable[..., dict[str, Any]]:
    """The example config over one week with a known seed (which must never be exported)."""

    def _make(**overrides: Any) -> dict[str, Any]:
        return make_config({**WEEK, "rng_seed": SEED, **overrides})

    return _make


def run_week(config: dict[str, Any], data_root: Path, var: Path, run_id: str, **kwargs: Any) -> omega_v2.RunResult:
    return omega_v2.run(config, data_root=data_root, var_dir=var, run_id=run_id, **kwargs)


def check_trace(spans: list[Any], run_id: str) -> None:
    """One trace: the root with the run context, its five phases as children, real durations."""
    assert len({s.trace_id for s in spans}) == 1
    (root,) = [s for s in spans if s.name == "backtest_run"]
    assert root.parent_span_id == b""
    assert set(attributes(root)) == ROOT_KEYS
    assert {k: v for k, v in attributes(root).items() if k in CONTEXT or k == "run_id"} == {**CONTEXT, "run_id": run_id}
    phases = [s for s in spans if s.name in PHASES]
    assert sorted(s.name for s in phases) == sorted(PHASES), "each phase once"
    assert len(spans) == 1 + len(PHASES), "nothing but the root and its phases"
    for span in phases:
        assert span.parent_span_id == root.span_id, span.name
        assert set(attributes(span)) == PHASE_KEYS, span.name
        start, end = span.start_time_unix_nano, span.end_time_unix_nano
        assert root.start_time_unix_nano <= start < end <= root.end_time_unix_nano, span.name
    assert root.end_time_unix_nano > root.start_time_unix_nano


def test_each_run_in_this_process_and_in_a_child_is_one_trace(
    receiver: Receiver,
    week_config: Any,
    example_data_root: Path,
    omega_var_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    run_python: Any,
) -> None:
    env = {"OMEGA_OTEL_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    dev = run_week(week_config(), example_data_root, omega_var_dir, "otel-dev")
    # A prod run logs no spans, but its phases are in its trace all the same.
    prod = run_week(week_config(run_mode="prod"), example_data_root, omega_var_dir, "otel-prod")
    child_code = (
        "import json, sys, omega_v2\n"
        "omega_v2.run(json.loads(sys.argv[1]), data_root=sys.argv[2], var_dir=sys.argv[3], run_id='otel-child')\n"
    )
    child = run_python(child_code, json.dumps(week_config()), str(example_data_root), str(omega_var_dir), env=env)
    assert child.returncode == 0, child.stderr

    assert dev.metrics["total_trades"] > 0 and prod.metrics["total_trades"] > 0
    by_run = receiver.spans_by_run()
    assert len(receiver.requests) == 3, "one request per run"
    assert sorted(by_run) == ["otel-child", "otel-dev", "otel-prod"]
    for run_id, spans in by_run.items():
        check_trace(spans, run_id)
    assert len({spans[0].trace_id for spans in by_run.values()}) == 3, "separate traces"

    for request in receiver.requests:
        (resource_spans,) = request.resource_spans
        resource = attributes(resource_spans.resource)
        assert (resource["service.name"], resource["service.version"]) == ("omega-v2", omega_v2.__version__)
        (scope_spans,) = resource_spans.scope_spans
        assert scope_spans.scope.name == "omega_v2"
    # Nothing of the config beyond the context keys: not the seed, not a parameter name.
    for body in receiver.bodies:
        assert str(SEED).encode() not in body and b"rng_seed" not in body and b"enabled_scenarios" not in body
    for run_id in by_run:
        assert not warnings(omega_var_dir, run_id)


def warnings(var: Path, run_id: str) -> list[dict[str, Any]]:
    path = var / "logs" / f"{run_id}.jsonl"
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [r for r in records if r["level"] == "WARN"]


def test_the_switch_off_sends_nothing(
    receiver: Receiver, week_config: Any, example_data_root: Path, omega_var_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An endpoint alone switches nothing on.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
    result = run_week(week_config(), example_data_root, omega_var_dir, "otel-off")
    assert result.metrics["total_trades"] > 0
    assert receiver.requests == []
    assert not warnings(omega_var_dir, "otel-off")


def test_file_mode_appends_one_otlp_json_request_per_run(
    week_config: Any, example_data_root: Path, omega_var_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "traces.jsonl"
    monkeypatch.setenv("OMEGA_OTEL_EXPORTER", "file")
    monkeypatch.setenv("OMEGA_OTEL_FILE", str(path))
    for run_id in ("otel-file-a", "otel-file-b"):
        run_week(week_config(), example_data_root, omega_var_dir, run_id)

    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    traces = set()
    for line, run_id in zip(lines, ("otel-file-a", "otel-file-b"), strict=True):
        (resource_spans,) = json.loads(line)["resourceSpans"]
        service = {a["key"]: a["value"]["stringValue"] for a in resource_spans["resource"]["attributes"]}
        assert service["service.name"] == "omega-v2"
        (scope_spans,) = resource_spans["scopeSpans"]
        spans = scope_spans["spans"]
        (root,) = [s for s in spans if s["name"] == "backtest_run"]
        attrs = {a["key"]: a["value"] for a in root["attributes"]}
        assert set(attrs) == ROOT_KEYS
        assert attrs["run_id"] == {"stringValue": run_id}
        # OTLP/JSON: hex ids, 64-bit integers as decimal strings, enums as numbers.
        assert all(len(s["traceId"]) == 32 and int(s["traceId"], 16) for s in spans)
        assert all(len(s["spanId"]) == 16 for s in spans)
        assert {s["name"] for s in spans if s.get("parentSpanId") == root["spanId"]} == PHASES
        assert len(spans) == 1 + len(PHASES)
        for s in spans:
            assert int(s["endTimeUnixNano"]) > int(s["startTimeUnixNano"]) > 0
            assert s["kind"] == 1  # SPAN_KIND_INTERNAL
        traces.add(root["traceId"])
    assert len(traces) == 2


def test_profiling_mode_exports_one_bar_span_in_a_thousand(
    receiver: Receiver,
    week_config: Any,
    example_data_root: Path,
    omega_var_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OMEGA_OTEL_EXPORTER", "otlp")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
    config = week_config(end_date="2025-02-28")
    result = run_week(config, example_data_root, omega_var_dir, "otel-profiled", profile=True)
    bars = result.profiling["metrics"]["bars_processed"]
    assert bars > 2 * SAMPLE_EVERY

    spans = receiver.spans_by_run()["otel-profiled"]
    (loop,) = [s for s in spans if s.name == "backtest_loop"]
    # Unsigned span fields (the bar index) arrive as strings from tracing-opentelemetry.
    bar_spans = sorted((s for s in spans if s.name == "bar"), key=lambda s: int(attributes(s)["index"]))
    assert len(bar_spans) == math.ceil(bars / SAMPLE_EVERY)
    indices = [int(attributes(s)["index"]) for s in bar_spans]
    assert all(b - a == SAMPLE_EVERY for a, b in itertools.pairwise(indices))
    assert all(s.parent_span_id == loop.span_id and s.end_time_unix_nano > s.start_time_unix_nano for s in bar_spans)
    # Fills and exits appear only inside a sampled bar.
    bar_ids = {s.span_id for s in bar_spans}
    assert all(s.parent_span_id in bar_ids for s in spans if s.name in ("fill", "exit"))


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield s.getsockname()[1]


@pytest.mark.parametrize("endpoint", ["refused", "silent"])
def test_a_dead_endpoint_costs_one_warning_never_the_run(
    endpoint: str,
    request: pytest.FixtureRequest,
    week_config: Any,
    example_data_root: Path,
    omega_var_dir: Path,
    run_python: Any,
) -> None:
    port = closed_port() if endpoint == "refused" else request.getfixturevalue("black_hole")
    env = {
        "OMEGA_OTEL_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
        "OTEL_EXPORTER_OTLP_TIMEOUT": "500",
    }
    code = (
        "import json, sys, omega_v2\n"
        "r = omega_v2.run(json.loads(sys.argv[1]), data_root=sys.argv[2], var_dir=sys.argv[3], run_id='otel-dead')\n"
        "print(r.metrics['total_trades'])\n"
    )
    # The timeout only catches a hang (the export is bounded by about twice the 0.5 s above).
    child = run_python(code, json.dumps(week_config()), str(example_data_root), str(omega_var_dir), env=env, timeout=60)
    assert child.returncode == 0, child.stderr
    assert int(child.stdout.strip()) > 0
    (warning,) = warnings(omega_var_dir, "otel-dead")
    assert warning["run_id"] == "otel-dead" and warning["component"] == "otel"
    assert warning["fields"]["exporter"] == "otlp"
    assert warning["fields"]["destination"] == f"127.0.0.1:{port}/v1/traces"
    assert (omega_var_dir / "results" / "backtests" / "otel-dead" / "metrics.json").is_file()


def test_a_bad_switch_is_a_config_error_naming_the_variable(
    week_config: Any, example_data_root: Path, omega_var_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMEGA_OTEL_EXPORTER", "jaeger")
    with pytest.raises(omega_v2.ConfigError, match="OMEGA_OTEL_EXPORTER"):
        run_week(week_config(), example_data_root, omega_var_dir, "otel-bad")
    assert not (omega_var_dir / "logs" / "otel-bad.jsonl").exists()
