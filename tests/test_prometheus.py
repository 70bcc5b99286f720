"""Prometheus: the stack's own Prometheus, and SLIs read with PromQL agreeing with the harness's own probes. The
rules and dashboard in fixtures/prometheus/ are the reference's, tested in reference/tests/test_prometheus_config.py."""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from launchgate.drivers.errors import UnreachableError
from launchgate.drivers.prometheus import PrometheusClient, PrometheusQueryError
from launchgate.evidence import EvidenceWriter, read_evidence
from launchgate.monitoring.slis import SliReader, Window, record_window, selector, to_evidence, write_slis
from launchgate.targets import Monitoring, TargetError, load_target, parse_target, shift_ports
from launchgate.waiting import wait_for
from reference371os import procs
from reference371os.layout import SERVICE_NAMES
from tests.conftest import RunningStack

SCRAPE_S = 1.0
PROBE_S = 0.2
PROBE_TIMEOUT_S = 2.0  # the soak's probe timeout
MONITORING = Monitoring("http://127.0.0.1:1", selector='stack="reference"')


# -- the stack's own Prometheus --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def monitored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """A stack whose Prometheus scrapes every second, for the SLI tests of this module."""
    from tests.conftest import start_stack

    running = start_stack(tmp_path_factory.mktemp("monitored"), prometheus=True, scrape_interval=SCRAPE_S)
    try:
        yield running
    finally:
        running.close()
        running.stack.down()


def _client(running: RunningStack) -> PrometheusClient:
    return PrometheusClient(running.stack.prometheus_url)


def _every_target_up(client: PrometheusClient) -> bool:
    targets = client.targets()
    return len(targets) == len(SERVICE_NAMES) and all(t.health == "up" for t in targets)


def test_stack_prometheus_scrapes_every_service_on_loopback(monitored: RunningStack) -> None:
    stack = monitored.stack
    assert "prometheus" in stack.running()
    row = next(r for r in stack.status() if r["name"] == "prometheus")
    assert row["port"] == stack.ports.prometheus and row["state"] == "running"
    with _client(monitored) as client:
        wait_for(lambda: _every_target_up(client), timeout=30, what="Prometheus to scrape every service")
        jobs = {t.job for t in client.targets()}
        assert jobs == set(SERVICE_NAMES)
        assert all(t.url.startswith("http://127.0.0.1:") for t in client.targets())
        up = client.query('up{stack="reference"}')
        assert {s.label("job") for s in up} == set(SERVICE_NAMES) and all(s.values == [1.0] for s in up)
        rules = httpx.get(f"{stack.prometheus_url}/api/v1/rules", timeout=5).json()["data"]["groups"]
        assert {r["name"] for g in rules for r in g["rules"]} >= {"TargetDown", "HighErrorRatio"}


def test_query_error_carries_the_promql_and_the_server_message(monitored: RunningStack) -> None:
    bad = "sum(rate(http_requests_total[5m])"
    with _client(monitored) as client:
        with pytest.raises(PrometheusQueryError) as caught:
            client.query(bad)
        assert caught.value.query == bad and caught.value.status == 400
        assert bad in str(caught.value) and "parse error" in str(caught.value)
        with pytest.raises(PrometheusQueryError, match="PromQL: up"):
            client.query_range("up", 2.0, 1.0, 1.0)  # end before start: the server says so
        with pytest.raises(ValueError, match="step must be positive"):
            client.query_range("up", 1.0, 2.0, 0)
        scalar = client.query("scalar(vector(3))")
        assert scalar[0].values == [3.0] and client.query('"text"') == []
    with PrometheusClient("http://127.0.0.1:9") as nowhere:
        assert not nowhere.ready()
        with pytest.raises(UnreachableError, match=re.escape("127.0.0.1:9")):
            nowhere.query("up")


class Prober(threading.Thread):
    """The harness's probes, as the soak makes them: every service's /health at once on each tick, no
    keep-alive (a restarted service is seen as it is), a tick up when every service answered 200."""

    def __init__(self, running: RunningStack) -> None:
        super().__init__(daemon=True)
        self.urls = {name: f"{running.url(name)}/health" for name in SERVICE_NAMES}
        self.ticks: list[tuple[float, dict[str, bool]]] = []  # (Unix time of the tick, service -> up)
        self.stopped = threading.Event()
        self._http = httpx.Client(timeout=PROBE_TIMEOUT_S, limits=httpx.Limits(max_keepalive_connections=0))
        self._pool = ThreadPoolExecutor(max_workers=len(SERVICE_NAMES))

    def _up(self, url: str) -> bool:
        try:
            return self._http.get(url).status_code == 200
        except httpx.HTTPError:
            return False

    def run(self) -> None:
        while not self.stopped.is_set():
            started = time.monotonic()
            at = time.time()
            answers = dict(zip(self.urls, self._pool.map(self._up, self.urls.values()), strict=True))
            self.ticks.append((at, answers))
            self.stopped.wait(max(0.0, PROBE_S - (time.monotonic() - started)))

    def downtime(self, end: float, service: str | None = None) -> float:
        """Seconds down (of `service`, or of the system: any service down), each tick's answer holding until
        the next tick: a tick through a refused port is quicker than one through answering services, so
        counting ticks would overweight outages."""
        starts = [t for t, _ in self.ticks] + [end]
        down = [not (answers[service] if service else all(answers.values())) for _, answers in self.ticks]
        return sum(starts[i + 1] - starts[i] for i, is_down in enumerate(down) if is_down)

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=PROBE_TIMEOUT_S + 5)
        self._pool.shutdown()
        self._http.close()


def _pause(seconds: float) -> None:
    """Lets the outage (or the calm) last: the probes and Prometheus are what is being waited on."""
    threading.Event().wait(seconds)


def test_uptime_from_probes_and_from_prometheus_agree_within_one_scrape(monitored: RunningStack,
                                                                      tmp_path: Path) -> None:
    stack = monitored.stack
    with _client(monitored) as client:
        wait_for(lambda: _every_target_up(client), timeout=30, what="Prometheus to scrape every service")
        prober = Prober(monitored)
        start = datetime.now(UTC)
        prober.start()
        _pause(5)
        stack.kill("conduit")  # kill -9: an outage both sources must see
        try:
            _pause(4)
            # The window ends in the outage: a restart's start-up (port open, /health not yet 200) is down to the
            # probes and up to Prometheus's `up`, and on a busy host it lasts long enough to tell nothing.
            prober.stop()
            end = datetime.now(UTC)
            # Prometheus must have scraped past the window's end before it is read.
            wait_for(lambda: all(s.values[0] >= end.timestamp() for s in client.query('timestamp(up{job="conduit"})')),
                     timeout=10, what="a scrape after the window's end")
            window = Window(start, end)
            reading = SliReader(client, Monitoring(stack.prometheus_url, 'stack="reference"'), SCRAPE_S).uptime(window)
        finally:
            stack.start_service("conduit")  # the module's later tests need it back

    assert reading.value is not None and 0 < reading.value < 1.0, reading
    conduit, gateway = reading.per_service["conduit"], reading.per_service["gateway"]
    # The outage is the conduit's. A service left running answers every scrape but, on a host this busy, may miss
    # one by its 1 s timeout (seen: 27 of 28): that is the host, and it stays well above the killed service.
    assert conduit is not None and gateway is not None and conduit < 0.9 <= gateway, reading.per_service
    # The killed service's outage, in seconds, as each source saw it: within one scrape plus one probe tick. A tick's
    # answer holds until the next tick, which on a busy host comes later than PROBE_S: the widest gap is the probes'
    # resolution.
    down_probes = prober.downtime(end.timestamp(), "conduit")
    down_prometheus = (1 - conduit) * window.seconds
    ticks = [t for t, _ in prober.ticks]
    resolution = max([PROBE_S, *(b - a for a, b in itertools.pairwise(ticks))])
    assert abs(down_probes - down_prometheus) <= SCRAPE_S + resolution, (
        f"conduit: probes saw {down_probes:.2f} s down, Prometheus {down_prometheus:.2f} s "
        f"(query {reading.extra['per_service_query']}, "
        f"window {window.seconds:.1f} s)"
    )
    # The system as a whole can differ by more, and the record says so: /health also answers 503 while a
    # dependency is down (the gateway's, while conduit is gone and a moment after), where `up` only says
    # that the process answers its scrape.
    system_down = prober.downtime(end.timestamp())
    assert system_down >= down_probes - PROBE_S
    probe_uptime = 1 - system_down / window.seconds
    assert reading.samples >= int(window.seconds / SCRAPE_S) - 1

    writer = EvidenceWriter(tmp_path / "run", "prometheus")
    monitoring = Monitoring(stack.prometheus_url, 'stack="reference"')
    writer.write(to_evidence(reading, window, run=writer.run_id, target="reference", monitoring=monitoring,
                             harness=probe_uptime))
    (record,), bad = read_evidence(tmp_path / "run")
    assert not bad
    assert record.kind == "measurement" and record.name == "uptime.prometheus" and record.criterion == "beta.uptime"
    assert record.details["source"] == "prometheus" and record.details["query"] == 'min(up{stack="reference"})'
    assert record.details["probes"] == reading.samples and record.details["informs"] == "beta.uptime"
    harness = record.details["harness"]
    assert harness["value"] == probe_uptime and harness["tolerance"] == round(SCRAPE_S / window.seconds, 9)
    assert harness["agrees"] is (abs(probe_uptime - reading.value) <= SCRAPE_S / window.seconds)


def test_error_ratio_and_latency_slis_become_evidence(monitored: RunningStack, tmp_path: Path) -> None:
    stack = monitored.stack
    start = datetime.now(UTC)
    # 404s: answers, not server errors, from the gateway itself and from a service behind it. (The gateway's
    # /health asks every dependency, and answers 503 when one is slow on a busy host: a real 5xx the harness's
    # constant 0.0 below would not have counted.)
    with httpx.Client(timeout=5) as http:
        statuses = [http.get(f"{stack.url(name)}/no-such-route").status_code
                    for _ in range(30) for name in ("gateway", "conduit")]
    assert set(statuses) == {404}, statuses
    with _client(monitored) as client:
        wait_for(lambda: client.query('sum(http_requests_total{job="conduit", status="404"})'),
                 timeout=10, what="Prometheus to scrape the requests just made")
        procs.wait_until(lambda: datetime.now(UTC).timestamp() - start.timestamp() > 8 * SCRAPE_S, 20)
    window = Window(start, datetime.now(UTC))
    monitoring = Monitoring(stack.prometheus_url, 'stack="reference"', slis="instead")
    records = write_slis(EvidenceWriter(tmp_path / "run", "prometheus"), monitoring, window, target="reference",
                         scrape_interval=SCRAPE_S, harness={"error_ratio": 0.0})
    by_name = {r.name: r for r in records}
    assert set(by_name) == {"uptime", "error_ratio", "latency_p95"}  # "instead": the names gates.yaml scores
    errors = by_name["error_ratio"]
    assert errors.value is not None and errors.value < 0.05, errors
    assert errors.details["requests"] > 30 and errors.criterion is None
    assert errors.details["informs"] == "alpha.stability" and 'status=~"5.."' in errors.details["query"]
    assert errors.details["harness"]["agrees"] is True
    latency = by_name["latency_p95"]
    assert latency.value is not None and 0 < latency.value < 5 and latency.unit == "s"
    assert latency.details["query"].startswith("histogram_quantile(0.95")
    assert set(latency.details["services"]) >= {"gateway", "conduit"}


def test_slis_read_nothing_as_skipped_not_as_zero(monitored: RunningStack) -> None:
    nothing = Monitoring(monitored.stack.prometheus_url, 'stack="no-such-stack"')
    with _client(monitored) as client:
        reading = SliReader(client, nothing, SCRAPE_S).uptime(Window.last(10))
    assert reading.value is None and reading.samples == 0
    record = to_evidence(reading, Window.last(10), run="r", target="t", monitoring=nothing)
    assert record.outcome == "skipped" and record.value is None


def test_a_refused_query_becomes_an_error_record_naming_it(monitored: RunningStack, tmp_path: Path) -> None:
    broken = Monitoring(monitored.stack.prometheus_url, 'stack="reference",,')
    records = write_slis(EvidenceWriter(tmp_path / "run", "prometheus"), broken, Window.last(3), target="reference",
                         scrape_interval=SCRAPE_S)
    assert [r.name for r in records] == ["uptime.prometheus", "error_ratio.prometheus", "latency_p95.prometheus"]
    assert {r.outcome for r in records} == {"error"}
    for record in records:
        assert 'stack="reference",,' in record.details["query"] and "parse error" in record.details["error"]


def test_a_short_window_and_an_unreachable_prometheus(monitored: RunningStack, tmp_path: Path) -> None:
    target = load_target("reference")
    moved = shift_ports(target, monitored.stack.options.port_base)
    records = record_window(moved, tmp_path / "run", Window.last(2), scrape_interval=SCRAPE_S)
    # Two seconds is shorter than a rate step: read anyway (or found empty), never refused.
    assert {r.outcome for r in records} <= {"passed", "skipped"}, [(r.name, r.outcome, r.details) for r in records]
    assert [r.name for r in records] == ["uptime.prometheus", "error_ratio.prometheus", "latency_p95.prometheus"]
    gone = shift_ports(target, 1000)  # nothing listens there
    failed = record_window(gone, tmp_path / "run2", Window.last(60))
    assert [r.name for r in failed] == ["uptime.prometheus", "error_ratio.prometheus", "latency_p95.prometheus"]
    for record in failed:  # each SLI's query failed, with why: not "no data"
        assert record.outcome == "error" and "cannot reach http://127.0.0.1:" in record.details["error"]
        assert record.details["no_data"] == {"kind": "query-failed", "detail": record.details["error"]}
    assert record_window(load_target("371os"), tmp_path / "run3", Window.last(60)) == []


def test_selector_and_windows() -> None:
    assert selector(MONITORING) == '{stack="reference"}'
    assert selector(Monitoring("http://x"), 'job="a"') == '{job="a"}'
    with pytest.raises(ValueError, match="must end after"):
        Window(datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))


# -- profiles ---------------------------------------------------------------------------------------------
def test_reference_profile_names_its_prometheus_and_ports_shift_with_the_base() -> None:
    target = load_target("reference")
    assert target.monitoring is not None
    assert target.monitoring.prometheus == "http://127.0.0.1:18379"
    moved = shift_ports(target, 20000)
    assert moved.monitoring is not None and moved.monitoring.prometheus == "http://127.0.0.1:20009"
    assert load_target("371os").monitoring is None


def test_monitoring_section_is_validated(tmp_path: Path) -> None:
    base = {"name": "x", "environment": "mock", "services": {"a": {"url": "http://127.0.0.1:1"}}, "api": {}}
    with pytest.raises(TargetError, match=re.escape("monitoring.prometheus must be an http")):
        parse_target({**base, "monitoring": {"prometheus": "ftp://x"}}, tmp_path / "x.toml")
    with pytest.raises(TargetError, match=re.escape("monitoring.slis must be 'beside' or 'instead'")):
        parse_target({**base, "monitoring": {"prometheus": "http://p", "slis": "sometimes"}}, tmp_path / "x.toml")
    parsed = parse_target({**base, "monitoring": {"prometheus": "http://p:9090/"}}, tmp_path / "x.toml")
    assert parsed.monitoring == Monitoring("http://p:9090")
