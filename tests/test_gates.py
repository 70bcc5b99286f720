"""gates.yaml loading and scoring: every verdict branch, the gate rules, exit codes and history."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from launchgate.evidence import Evidence
from launchgate.gates.history import compare, previous_entry, read_history, record_run, summary_line, trend
from launchgate.gates.loader import GatesConfigError, load_gates, parse_gates
from launchgate.gates.model import GatesConfig, parse_duration
from launchgate.gates.scoring import UnknownGateError, score
from launchgate.gates.verdicts import exit_code

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2025, 11, 1, tzinfo=UTC)
NOW = datetime(2025, 12, 15, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def rec(kind: str, name: str = "r", outcome: str = "passed", *, criterion: str | None = None,
        value: float | None = None, unit: str | None = None, start: datetime = T0,
        duration: timedelta = timedelta(seconds=1), **details: Any) -> Evidence:
    return Evidence(run="run", kind=kind, name=name, outcome=outcome, criterion=criterion,  # type: ignore[arg-type]
                    value=value, unit=unit, started=iso(start), finished=iso(start + duration), details=details)


def scenarios(
    criterion: str, passed: int, failed: int = 0, skipped: int = 0, tags: tuple[str, ...] = ()
) -> list[Evidence]:
    out = [rec("scenario", f"ok {i}", criterion=criterion, tags=list(tags)) for i in range(passed)]
    out += [rec("scenario", f"bad {i}", "failed", criterion=criterion, tags=list(tags), error="AssertionError: no",
                steps=[{"keyword": "Then", "name": "it works", "line": 3, "status": "failed", "error": "no"}])
            for i in range(failed)]
    out += [rec("scenario", f"skip {i}", "skipped", criterion=criterion, reason="inconclusive: no chain")
            for i in range(skipped)]
    return out


def config(*criteria: str, waivers: str = "[]", gate_pass: int = 90, gate_warning: int = 75) -> GatesConfig:
    body = "\n".join(textwrap.indent(textwrap.dedent(c).strip(), " " * 6) for c in criteria)
    text = f"""\
version: 1
gates:
  g:
    title: Gate G
    pass: {gate_pass}
    warning: {gate_warning}
    criteria:
{body}
waivers: {waivers}
"""
    return parse_gates(text)


RATIO = """
- id: c.ratio
  wording: most pass
  source: {kind: scenario, criterion: c.ratio, aggregate: ratio_passed}
  pass: ">= 95%"
  warning: ">= 80%"
  key: true
"""


def only(cfg: GatesConfig, records: list[Evidence], now: datetime = NOW) -> Any:
    result = score(cfg, records, now=now)
    return result.gates[0], result.gates[0].criteria[0]


# -- criterion verdicts ----------------------------------------------------------------------------------
def test_pass_warning_fail_by_threshold() -> None:
    cfg = config(RATIO)
    _, c = only(cfg, scenarios("c.ratio", 19, 1))
    assert (c.verdict, c.value, c.samples) == ("pass", 0.95, 20)
    assert c.reason == "19 of 20 scenarios passed (95%); target at least 95% met." and c.threshold_text == "≥ 95%"
    _, c = only(cfg, scenarios("c.ratio", 17, 3))
    assert c.verdict == "warning" and "warning band" in c.reason
    _, c = only(cfg, scenarios("c.ratio", 7, 3))
    assert c.verdict == "fail" and c.reason == "7 of 10 scenarios passed (70%); target at least 95% not met."
    assert [e.outcome for e in c.evidence[:3]] == ["failed"] * 3
    assert c.evidence[0].steps[0]["error"] == "no" and c.evidence[0].error == "AssertionError: no"


def test_no_data_is_inconclusive_never_pass() -> None:
    gate, c = only(config(RATIO), [rec("scenario", criterion="other")])
    assert c.verdict == "inconclusive" and c.value is None
    assert c.reason.startswith("No evidence: no scenario records (criterion c.ratio)")
    assert gate.verdict == "inconclusive"


def test_fewer_than_min_samples_is_inconclusive() -> None:
    cfg = config(RATIO.replace("key: true", "key: true\n  min_samples: 20"))
    _, c = only(cfg, scenarios("c.ratio", 5))
    assert c.verdict == "inconclusive" and c.measured_verdict == "inconclusive"
    assert "Only 5 samples; at least 20 are needed" in c.reason


def test_short_soak_is_inconclusive_and_a_continuous_72h_soak_passes() -> None:
    cfg = config("""
    - id: alpha.stability
      wording: stable for 72 hours
      source: {kind: measurement, criterion: alpha.stability, aggregate: ratio_passed}
      pass: ">= 100%"
      min_duration: 72h
      key: true
    """)
    five_minutes = [rec("measurement", "window", criterion="alpha.stability", duration=timedelta(minutes=5))]
    gate, c = only(cfg, five_minutes)
    assert c.verdict == "inconclusive" and gate.verdict == "inconclusive"
    assert "Observed for 5 min continuously; 72 h are needed" in c.reason

    windows = [rec("measurement", "window", criterion="alpha.stability", start=T0 + timedelta(minutes=5 * i),
                   duration=timedelta(minutes=5)) for i in range(12 * 72)]
    gate, c = only(cfg, windows)
    assert (c.verdict, gate.verdict, c.duration_s) == ("pass", "pass", 72 * 3600)

    # Two halves a day apart are not one continuous period.
    gap = windows[: 12 * 36] + [rec("measurement", "window", criterion="alpha.stability",
                                    start=T0 + timedelta(hours=60 + i), duration=timedelta(hours=1)) for i in range(36)]
    _, c = only(cfg, gap)
    assert c.verdict == "inconclusive" and c.duration_s == 36 * 3600


def test_failed_window_in_a_short_soak_says_so_far_it_would_fail() -> None:
    cfg = config("""
    - id: alpha.stability
      wording: stable
      source: {kind: measurement, criterion: alpha.stability, aggregate: ratio_passed}
      pass: ">= 100%"
      min_duration: 72h
    """)
    _, c = only(cfg, [rec("measurement", "w", "failed", criterion="alpha.stability", duration=timedelta(minutes=5))])
    assert c.verdict == "inconclusive" and "(so far it would fail)" in c.reason


def test_active_waiver_is_waived_not_pass_and_does_not_fail_the_gate() -> None:
    waivers = "[{criterion: c.ratio, approver: Jane (RM), reason: known flake, expires: 2025-12-31}]"
    cfg = config(RATIO, """
    - id: c.other
      wording: other
      source: {kind: scenario, criterion: c.other, aggregate: ratio_passed}
      pass: ">= 100%"
    """, waivers=waivers)
    result = score(cfg, scenarios("c.ratio", 1, 9) + scenarios("c.other", 3), now=NOW)
    gate = result.gates[0]
    c = gate.criteria[0]
    assert c.verdict == "waived" and c.measured_verdict == "fail"
    assert c.reason.startswith("Waived by Jane (RM) until 2025-12-31: known flake.")
    assert c.waiver == {"criterion": "c.ratio", "approver": "Jane (RM)", "reason": "known flake",
                        "expires": "2025-12-31", "active": True}
    assert gate.verdict == "pass" and gate.score == 100.0  # scored over c.other only
    assert gate.counts == {"waived": 1, "pass": 1}


def test_waiver_lasts_through_its_expiry_day_and_an_expired_one_is_ignored() -> None:
    waivers = "[{criterion: c.ratio, approver: Jane, reason: flake, expires: 2025-12-15}]"
    cfg = config(RATIO, waivers=waivers)
    _, c = only(cfg, scenarios("c.ratio", 1, 9), now=datetime(2025, 12, 15, 23, 0, tzinfo=UTC))
    assert c.verdict == "waived"
    gate, c = only(cfg, scenarios("c.ratio", 1, 9), now=datetime(2025, 12, 16, 0, 1, tzinfo=UTC))
    assert c.verdict == "fail" and gate.verdict == "fail"
    assert "A waiver by Jane expired on 2025-12-15 and is ignored." in c.reason
    assert c.waiver is not None and c.waiver["active"] is False


def test_key_failure_fails_the_gate_whatever_the_score() -> None:
    cfg = config(RATIO.replace("  warning: \">= 80%\"\n", ""), *(f"""
    - id: c.n{i}
      wording: n{i}
      source: {{kind: scenario, criterion: c.n{i}, aggregate: ratio_passed}}
      pass: ">= 100%"
      weight: 5
    """ for i in range(3)), gate_pass=50, gate_warning=40)
    records = scenarios("c.ratio", 1, 1) + [r for i in range(3) for r in scenarios(f"c.n{i}", 2)]
    gate, _ = only(cfg, records)
    assert gate.score is not None and gate.score > 90
    assert gate.verdict == "fail" and gate.reason == "Key criterion failed: c.ratio."
    assert gate.detail.startswith("c.ratio: 1 of 2 scenarios passed")


def test_key_inconclusive_makes_gate_inconclusive_but_nonkey_is_left_out_of_the_score() -> None:
    extra = """
    - id: c.nokey
      wording: not key
      source: {kind: scenario, criterion: c.nokey, aggregate: ratio_passed}
      pass: ">= 100%"
    """
    cfg = config(RATIO, extra)
    gate, _ = only(cfg, scenarios("c.nokey", 2))
    assert gate.verdict == "inconclusive" and gate.reason == "Too little evidence for key criterion c.ratio."
    gate, _ = only(cfg, scenarios("c.ratio", 20))
    assert gate.verdict == "pass" and gate.score == 100.0
    assert "(1 criterion inconclusive, not scored)" in gate.reason


@pytest.mark.parametrize(
    ("outcomes", "verdict", "score_pct"),
    [
        (("pass", "pass", "pass"), "pass", 100.0),
        (("pass", "warning", "pass"), "warning", 87.5),  # (2 + 0.5 + 1) / 4
        (("pass", "fail", "fail"), "fail", 50.0),
        (("warning", "pass", "pass"), "fail", 75.0),  # (1 + 1 + 1) / 4, below the 80% warning band
    ],
)
def test_gate_score_is_weighted_and_compared_with_its_bands(
    outcomes: tuple[str, ...], verdict: str, score_pct: float
) -> None:
    crits = "".join(f"""
    - id: c.w{i}
      wording: w{i}
      source: {{kind: scenario, criterion: c.w{i}, aggregate: ratio_passed}}
      pass: ">= 100%"
      warning: ">= 50%"
      weight: {2 if i == 0 else 1}
    """ for i in range(3))
    cfg = config(crits, gate_pass=90, gate_warning=80)
    shape = {"pass": (2, 0), "warning": (1, 1), "fail": (0, 2)}
    records = [r for i, o in enumerate(outcomes) for r in scenarios(f"c.w{i}", *shape[o])]
    gate = score(cfg, records, now=NOW).gates[0]
    assert [c.verdict for c in gate.criteria] == list(outcomes)
    assert gate.score == pytest.approx(score_pct)
    assert gate.verdict == verdict


def test_counts_that_break_an_upper_bound_fail_at_once() -> None:
    cfg = config("""
    - id: alpha.no-critical
      wording: no critical issues
      source:
        - {kind: scenario, tags: [critical], aggregate: count_failed}
        - {kind: incident, where: {severity: [critical, blocking]}, aggregate: count}
      pass: "== 0"
      min_samples: 5
      key: true
    """)
    crit = scenarios("x", 3, tags=("critical",))
    _, c = only(cfg, crit)
    assert c.verdict == "inconclusive"  # 3 critical scenarios, 0 failures: too few to say
    _, c = only(cfg, crit + scenarios("x", 0, 1, tags=("critical",)))
    assert c.verdict == "fail" and c.value == 1  # one failure is final, however few samples
    minor = rec("incident", "slow page", severity="minor")
    _, c = only(cfg, [*crit, *scenarios("x", 2, tags=("critical",)), minor])
    assert (c.verdict, c.value, c.samples) == ("pass", 0, 5)
    _, c = only(cfg, [*crit, *scenarios("x", 2, tags=("critical",)), rec("incident", "db down", severity="blocking")])
    assert c.verdict == "fail" and c.evidence[0].name == "db down"


CAMPAIGNS_CONFIRMED = """
    - id: beta.campaigns-confirmed
      wording: 10 campaigns
      source: {kind: chain, outcome: passed, where: {subject_kind: campaign}, aggregate: count_distinct,
               field: subject}
      pass: ">= 10"
"""


def test_campaigns_confirmed_counts_distinct_passed_campaigns_with_tx_links() -> None:
    cfg = config(CAMPAIGNS_CONFIRMED)
    def tx(i: int, subject: str, kind: str = "campaign", outcome: str = "passed") -> Evidence:
        h = "0x" + f"{i:064x}"
        return rec("chain", "anchor", outcome, subject=subject, subject_kind=kind, tx_hash=h,
                   explorer_url=f"https://explorer.test/tx/{h}")
    records = [tx(i, f"camp-{i % 9}") for i in range(12)]
    records += [tx(50, "camp-x", outcome="failed"), tx(51, "p", "proposal")]
    _, c = only(cfg, records)
    assert (c.verdict, c.value) == ("fail", 9)
    _, c = only(cfg, [*records, tx(60, "camp-9")])
    assert (c.verdict, c.value) == ("pass", 10)
    assert c.evidence[0].tx_hash == "0x" + f"{0:064x}" and c.evidence[0].explorer_url.startswith("https://")


def test_a_count_whose_feeding_scenario_failed_fails_rather_than_waits_for_evidence() -> None:
    cfg = config(CAMPAIGNS_CONFIRMED + "      min_samples: 1\n")
    _, c = only(cfg, scenarios("beta.campaigns-confirmed", 0, skipped=1))
    assert c.verdict == "inconclusive" and "failed" not in c.reason  # could not run: still no data
    _, c = only(cfg, scenarios("beta.campaigns-confirmed", 0, failed=1))
    assert c.verdict == "fail" and "The scenario that produces this evidence failed: “bad 0”" in c.reason


def test_positive_share_counts_each_tester_once_and_reports_the_response_rate() -> None:
    cfg = config("""
    - id: beta.feedback-positive
      wording: 80% positive
      source: {kind: feedback, criterion: beta.feedback-positive, aggregate: positive_share}
      pass: ">= 80%"
      min_samples: 5
    """)
    def answer(tester: str, positive: bool, day: int) -> Evidence:
        return rec("feedback", tester, "passed" if positive else "failed", criterion="beta.feedback-positive",
                   tester=tester, positive=positive, date=f"2025-11-{day:02d}")
    answers = [answer(f"t{i}", True, 1) for i in range(4)] + [answer("t9", False, 1), answer("t9", True, 2)]
    invited = rec("measurement", "feedback.invited", criterion="beta.feedback-positive", value=10)
    _, c = only(cfg, [*answers, invited])
    assert (c.verdict, c.value, c.samples) == ("pass", 1.0, 5)
    assert c.extra == {"responses": 5, "invited": 10, "response_rate": 0.5,
                       "response_text": "5 of 10 invited answered (50%)"}
    _, c = only(cfg, answers[:4])
    assert c.verdict == "inconclusive" and "invited" not in c.extra


def test_uptime_is_weighted_by_probes_and_needs_enough_of_them() -> None:
    cfg = config("""
    - id: beta.uptime
      wording: 99.9%
      source: {kind: measurement, name: uptime, aggregate: mean, samples_field: probes}
      pass: ">= 99.9%"
      warning: ">= 99.5%"
      min_samples: 1000
      min_duration: 24h
    """)
    hours = [rec("measurement", "uptime", value=100.0 if h else 97.0, unit="%", start=T0 + timedelta(hours=h),
                 duration=timedelta(hours=1), probes=3600 if h else 36) for h in range(24)]
    _, c = only(cfg, hours)
    assert c.verdict == "pass" and c.samples == 23 * 3600 + 36
    assert c.value == pytest.approx((23 * 3600 + 0.97 * 36) / (23 * 3600 + 36))
    _, c = only(cfg, hours[:1])
    assert c.verdict == "inconclusive" and "Only 36 samples" in c.reason


def test_no_incidents_needs_a_month_of_observation_but_one_incident_fails_at_once() -> None:
    cfg = config("""
    - id: launch.no-incidents
      wording: no incidents in the first month
      source: {kind: incident, aggregate: count}
      observe: {kind: measurement, name: observation.window}
      pass: "== 0"
      min_duration: 30d
      max_gap: 1d
      key: true
    """)
    def window(days: int) -> Evidence:
        return rec("measurement", "observation.window", duration=timedelta(days=days))
    _, c = only(cfg, [window(31)])
    assert (c.verdict, c.value, c.samples) == ("pass", 0, 1)
    _, c = only(cfg, [window(10)])
    assert c.verdict == "inconclusive" and "Observed for 10 d continuously; 30 d are needed" in c.reason
    _, c = only(cfg, [window(10), rec("incident", "outage", severity="major")])
    assert c.verdict == "fail"
    _, c = only(cfg, [])
    assert c.verdict == "inconclusive"


def test_skipped_scenarios_make_a_criterion_inconclusive_unless_it_fails_anyway() -> None:
    cfg = config(RATIO)
    _, c = only(cfg, scenarios("c.ratio", 5, 0, 1))
    assert c.verdict == "inconclusive" and "1 scenario could not decide" in c.reason and "no chain" in c.reason
    _, c = only(cfg, scenarios("c.ratio", 1, 4, 1))
    assert c.verdict == "fail"
    _, c = only(cfg, scenarios("c.ratio", 0, 0, 2))
    assert c.verdict == "inconclusive" and "all 2 scenarios could not run" in c.reason
    counted = config(RATIO.replace("aggregate: ratio_passed", "aggregate: ratio_passed, skipped: failed"))
    _, c = only(counted, scenarios("c.ratio", 19, 0, 1))
    assert (c.verdict, c.samples) == ("pass", 20)
    ignored = config(RATIO.replace("aggregate: ratio_passed", "aggregate: ratio_passed, skipped: ignore"))
    _, c = only(ignored, scenarios("c.ratio", 5, 0, 3))
    assert (c.verdict, c.value) == ("pass", 1.0)


def test_a_scenario_whose_setup_the_target_broke_decides_nothing() -> None:
    """A 502 while creating the campaign to approve is no evidence about approvals: the scenario is an error,
    the criterion inconclusive with the route named, not failed."""
    broke = rec("scenario", "setup 502", "error", criterion="c.ratio", target_error=True,
                reason="the target failed while setting up (Given a campaign): POST /api/campaigns answered 502")
    _, c = only(config(RATIO), [*scenarios("c.ratio", 4), broke])
    assert c.verdict == "inconclusive" and "POST /api/campaigns answered 502" in c.reason
    _, c = only(config(RATIO), [*scenarios("c.ratio", 3, 1), broke])
    assert c.verdict == "fail"  # a real failure beside it still decides


def test_values_aggregates_and_percent_units() -> None:
    base = """
    - id: c.v
      wording: value
      source: {kind: measurement, name: cov, aggregate: AGG}
      pass: ">= 80%"
    """
    values = [rec("measurement", "cov", value=v, unit="%", start=T0 + timedelta(hours=i))
              for i, v in enumerate((85.0, 70.0, 90.0))]
    expected = {"last": 0.9, "min": 0.7, "max": 0.9, "mean": (0.85 + 0.7 + 0.9) / 3}
    for agg, value in expected.items():
        _, c = only(config(base.replace("AGG", agg)), values)
        assert c.value == pytest.approx(value) and c.unit == "ratio", agg
    _, c = only(config(base.replace("AGG", "min")), values)
    assert c.verdict == "fail" and c.value_text == "70%"
    _, c = only(config(base.replace("AGG", "sum").replace("80%", "1")), values)
    assert c.value == pytest.approx(2.45)


def test_duration_aggregate_reports_the_observed_time() -> None:
    cfg = config("""
    - id: c.d
      wording: observed
      source: {kind: measurement, name: w, aggregate: duration}
      pass: ">= 3600"
    """)
    _, c = only(cfg, [rec("measurement", "w", duration=timedelta(hours=2))])
    assert (c.verdict, c.value, c.value_text) == ("pass", 7200, "2 h")


# -- exit codes -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("verdicts", "code"),
    [(["pass"], 0), (["pass", "warning"], 0), (["pass", "fail"], 1), (["inconclusive", "pass"], 3),
     (["inconclusive", "fail"], 1), ([], 0)],
)
def test_exit_codes(verdicts: list[str], code: int) -> None:
    assert exit_code(verdicts) == code


def test_score_only_requested_gates_and_reject_unknown_ones() -> None:
    cfg = load_gates(ROOT / "gates.yaml")
    result = score(cfg, scenarios("env.separation", 3), gates=["preconditions"], now=NOW)
    assert [g.id for g in result.gates] == ["preconditions"] and result.exit_code == 3
    with pytest.raises(UnknownGateError, match="unknown gate"):
        score(cfg, [], gates=["gamma"])


# -- the real gates.yaml -----------------------------------------------------------------------------------
REQUIRED = {
    "preconditions": ["env.separation", "seeding.initial-data", "testing.coverage", "testing.integration",
                      "monitoring.health", "monitoring.metrics", "rollback.blue-green", "rollback.canary",
                      "rollback.db-snapshot", "data.backup-recovery", "data.encryption-at-rest", "data.tls",
                      "security.access-control", "security.secrets"],
    "alpha": ["alpha.tests-passed", "alpha.no-critical", "alpha.server-errors", "alpha.stability", "data.persistence",
              "core.campaign-creation", "core.agent-approvals", "core.dao-lifecycle", "core.social-posting",
              "core.campaign-delivery", "contract.conformance", "core.e2e-data-flow"],
    "beta": ["beta.campaigns-confirmed", "beta.proposals-confirmed", "beta.feedback-positive", "beta.uptime",
             "beta.analytics", "chain.verification"],
    "launch": ["launch.users-onboarded", "launch.no-incidents", "launch.feedback-positive", "launch.engagement"],
}


def test_repository_gates_file_holds_every_criterion_with_the_framework_numbers() -> None:
    cfg = load_gates(ROOT / "gates.yaml")
    assert {g: [c.id for c in gate.criteria] for g, gate in cfg.gates.items()} == REQUIRED
    crit = {c.id: c for gate in cfg.gates.values() for c in gate.criteria}
    assert crit["alpha.tests-passed"].pass_.value == 0.95
    assert crit["alpha.stability"].min_duration == 72 * 3600 and crit["alpha.stability"].key
    assert crit["beta.campaigns-confirmed"].pass_.value == 10
    assert crit["beta.proposals-confirmed"].pass_.value == 5
    assert crit["beta.feedback-positive"].pass_.value == 0.8
    assert crit["beta.uptime"].pass_.value == pytest.approx(0.999) and crit["beta.uptime"].min_samples >= 1000
    assert crit["launch.users-onboarded"].pass_.value == 1000
    assert crit["launch.no-incidents"].min_duration == 30 * 86400
    assert crit["testing.coverage"].pass_.value == 0.8
    assert crit["launch.engagement"].note


def test_a_five_minute_ci_soak_never_passes_the_real_alpha_stability() -> None:
    cfg = load_gates(ROOT / "gates.yaml")
    windows = [rec("measurement", "soak.window", criterion="alpha.stability", start=T0 + timedelta(minutes=i),
                   duration=timedelta(minutes=1)) for i in range(5)]
    result = score(cfg, windows, gates=["alpha"], now=NOW)
    stability = next(c for c in result.gates[0].criteria if c.id == "alpha.stability")
    assert stability.verdict == "inconclusive" and stability.measured_verdict == "inconclusive"


# -- malformed gates.yaml ---------------------------------------------------------------------------------
MALFORMED = """\
version: 1
gates:
  alpha:
    title: Alpha
    pass: 90
    criteria:
      - id: alpha.one
        wording: one
        source: {kind: scenrio, aggregate: ratio_passed}
        pass: ">= lots"
        weigth: 2
      - id: Alpha Two
        source: {kind: chain, aggregate: count_distinct}
        pass: ">= 1"
        min_duration: 3 fortnights
      - id: alpha.one
        wording: again
        source: {kind: scenario, aggregate: count}
        pass: 0
waivers:
  - criterion: alpha.nope
    approver: me
    reason: because
    expires: 2025-13-01
"""


def problems(text: str) -> list[str]:
    with pytest.raises(GatesConfigError) as info:
        parse_gates(text, "gates.yaml")
    assert str(info.value) == "; ".join(info.value.problems)  # one line, whatever the count: the CLI prints it
    assert "\n" not in str(info.value)
    return info.value.problems


def test_malformed_file_lists_every_problem_with_line_and_field() -> None:
    found = problems(MALFORMED)
    expected = [
        "gates.yaml:9: gates.alpha.criteria[0] (alpha.one).source[0].kind: Input should be 'scenario', "
        "'measurement', 'chain', 'feedback' or 'incident' (found 'scenrio')",
        "gates.yaml:10: gates.alpha.criteria[0] (alpha.one).pass: cannot read threshold '>= lots'",
        "gates.yaml:11: gates.alpha.criteria[0] (alpha.one).weigth: unknown field (did you mean 'weight'?)",
        "gates.yaml:12: gates.alpha.criteria[1] (Alpha Two).id: an id is lowercase words joined by dots",
        "gates.yaml:12: gates.alpha.criteria[1] (Alpha Two).wording: missing (required)",
        "gates.yaml:13: gates.alpha.criteria[1] (Alpha Two).source[0]: count_distinct needs `field`",
        "gates.yaml:15: gates.alpha.criteria[1] (Alpha Two).min_duration: cannot read duration '3 fortnights'",
        "gates.yaml:16: gates.alpha.criteria[2] (alpha.one).id: duplicate criterion id (already in gate 'alpha')",
        "gates.yaml:19: gates.alpha.criteria[2] (alpha.one).pass: a threshold is text such as '>= 95%'",
        "gates.yaml:21: waivers[0].criterion: unknown criterion 'alpha.nope'",
        "gates.yaml:24: waivers[0].expires: cannot read date '2025-13-01'",
    ]
    assert len(found) == len(expected), "\n".join(found)
    for line, prefix in zip(found, expected, strict=True):
        assert line.startswith(prefix), f"{line!r} does not start with {prefix!r}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("gates:\n  a: [1,\n", "gates.yaml:3: not valid YAML"),
        ("", "gates.yaml:1: the file is empty"),
        ("- a\n", "gates.yaml:1: the file must be a mapping"),
        ("gates:\n  a:\n    title: x\n    title: y\n", "gates.yaml:4: gates.a.title: duplicate key"),
        ("version: 2\ngates: {}\n", "gates.yaml:1: version: Input should be 1"),
        ("gates:\n  a:\n    title: A\n    pass: 90\n    warning: 95\n    criteria:\n"
         "      - {id: a.b, wording: w, source: {kind: incident, aggregate: count}, pass: '== 0'}\n",
         "gates.yaml:2: gates.a: warning (95) must not be above pass (90)"),
        ("gates:\n  a:\n    title: A\n    pass: 90\n    criteria:\n"
         "      - {id: a.b, wording: w, source: {kind: scenario, aggregate: ratio_passed}, pass: '>= 90%',\n"
         "         warning: '>= 95%'}\n",
         "gates.yaml:7: gates.a.criteria[0] (a.b).warning: the warning threshold (≥ 95%) must be easier"),
        ("gates:\n  a:\n    title: A\n    pass: 90\n    criteria:\n"
         "      - id: a.b\n        wording: w\n        pass: '== 0'\n        source:\n"
         "          - {kind: incident, aggregate: count}\n          - {kind: measurement, aggregate: mean}\n",
         "gates.yaml:6: gates.a.criteria[0] (a.b): several sources can only be combined when each one counts"),
        ("gates:\n  a:\n    title: A\n    pass: 90\n    criteria:\n"
         "      - id: a.b\n        wording: w\n        pass: '>= 100%'\n"
         "        source: {kind: scenario, aggregate: ratio_passed}\n"
         "        canary: {percent: 150, requests: 100, share_tolerance: 5, max_error_excess: 1}\n",
         "gates.yaml:10: gates.a.criteria[0] (a.b).canary.percent: Input should be less than 100"),
    ],
)
def test_single_problems_name_their_line(text: str, expected: str) -> None:
    found = problems(text)
    assert any(p.startswith(expected) for p in found), found


def test_a_misspelt_required_field_is_one_problem_not_two() -> None:
    text = ("gates:\n  a:\n    title: A\n    pass: 90\n    criteria:\n"
            "      - id: a.b\n        wording: w\n        source: {kind: incident, aggregate: count}\n"
            "        passs: '== 0'\n")
    assert problems(text) == ["gates.yaml:9: gates.a.criteria[0] (a.b).passs: unknown field (did you mean 'pass'?)"]


def test_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(GatesConfigError, match="cannot read"):
        load_gates(tmp_path / "missing.yaml")


def test_durations_and_thresholds_read_as_written() -> None:
    assert parse_duration("72h") == 259200 and parse_duration("30d") == 2592000 and parse_duration(90) == 90
    assert parse_duration("15m") == 900 and parse_duration("1w") == 604800
    cfg = config(RATIO.replace(">= 95%", "< 250"))
    assert cfg.gates["g"].criteria[0].pass_.holds(249) and not cfg.gates["g"].criteria[0].pass_.holds(250)


# -- history ----------------------------------------------------------------------------------------------
def test_history_compares_with_the_previous_run_and_keeps_one_line_per_run(tmp_path: Path) -> None:
    cfg = config(RATIO, """
    - id: c.other
      wording: other
      source: {kind: scenario, criterion: c.other, aggregate: ratio_passed}
      pass: ">= 100%"
    """)
    history = tmp_path / "history.jsonl"
    first = score(cfg, scenarios("c.ratio", 20), run="r1", now=NOW)
    record_run(history, summary_line(first))
    second = score(cfg, scenarios("c.ratio", 10, 10) + scenarios("c.other", 2), run="r2", now=NOW)
    entry = summary_line(second)
    entries = read_history(history)
    assert previous_entry(entries, "r2")["run"] == "r1"
    diff = compare(entry, previous_entry(entries, "r2"))
    assert diff is not None
    assert [(r["id"], r["before"], r["after"]) for r in diff["improved"]] == [("c.other", "inconclusive", "pass")]
    assert [(r["id"], r["before"], r["after"]) for r in diff["regressed"]] == [("c.ratio", "pass", "fail")]
    assert diff["gates"][0]["change"] == "regressed" and diff["summary"].startswith("Since run r1: 1 improved")
    entries = record_run(history, entry)
    entries = record_run(history, entry)  # a rebuilt report replaces its line
    assert [e["run"] for e in read_history(history)] == ["r1", "r2"]
    assert previous_entry(entries, "r1") is None and previous_entry(entries, "r2")["run"] == "r1"
    assert [t["run"] for t in trend(entries, "r1")] == ["r1"]
    assert [t["gates"]["g"]["score"] for t in trend(entries, "r2")] == [first.gates[0].score, second.gates[0].score]
    assert compare(entry, None) is None
    soak = summary_line(score(cfg, [], run="soak-1", now=NOW))  # measurements only: compared with its own kind
    entries = record_run(history, soak)
    assert soak["kind"] == "measurements" and entry["kind"] == "gate"
    assert previous_entry(entries, "soak-1", like=soak) is None
    assert [t["run"] for t in trend(entries, "soak-1", like=soak)] == ["soak-1"]
    assert previous_entry([*entries, {**entry, "run": "r3"}], "r3", like=entry)["run"] == "r2"
    history.write_text(history.read_text() + "not json\n")
    assert len(read_history(history)) == 3


def test_the_steps_ask_the_runs_gates_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`launchgate run --gates-file` reaches the steps (LAUNCHGATE_GATES_FILE): how many users to onboard and how
    a canary is tried come from the file the run scores with, not from gates.yaml beside the code."""
    from launchgate.runner import GATES_FILE_ENV
    from steps import common

    text = (Path(__file__).parents[1] / "gates.yaml").read_text()
    assert "canary: {percent: 10, requests: 100," in text
    other = tmp_path / "gates.yaml"
    other.write_text(text.replace("canary: {percent: 10, requests: 100,", "canary: {percent: 20, requests: 40,"))
    common._gates.cache_clear()
    try:
        assert common.gate_criterion("rollback.canary").canary.percent == 10  # type: ignore[union-attr]
        monkeypatch.setenv(GATES_FILE_ENV, str(other))
        common._gates.cache_clear()
        plan = common.gate_criterion("rollback.canary").canary
        assert plan is not None and (plan.percent, plan.requests) == (20, 40)
    finally:
        common._gates.cache_clear()


def test_loading_gates_again_and_again_keeps_nothing_of_earlier_loads() -> None:
    """A watch rebuilds its report, and so loads gates.yaml, every few minutes for weeks: the YAML constructor the
    loader shares must forget each load's nodes (it kept them all, and with them the text: 0.5 MB a load)."""
    from launchgate.gates import loader

    for _ in range(2):
        load_gates(ROOT / "gates.yaml")
        assert not loader._SCALARS.constructed_objects and not loader._SCALARS.recursive_objects
