"""The HPA simulator: the controller arithmetic, the replica queue model, and a short replay."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deploy import simulate_hpa
from deploy.hpa import Hpa, Metric, Policy, Rules
from deploy.replica_model import ReplicaModel, interp


def hpa(**kw) -> Hpa:
    up = Rules(0, (Policy("Percent", 100, 15), Policy("Pods", 4, 15)))
    down = Rules(300, (Policy("Percent", 20, 60),))
    defaults = {"min_replicas": 2, "max_replicas": 30, "metrics": [Metric("q", 8.0)]}
    return Hpa(up=up, down=down, **{**defaults, **kw})


def test_desired_is_ceil_of_current_times_ratio() -> None:
    h = hpa()
    assert h.metric_desired(Metric("q", 8.0), 4, [16.0] * 4, 0) == 8
    assert h.metric_desired(Metric("q", 8.0), 4, [10.0] * 4, 0) == 5  # ceil(4 x 1.25)
    assert h.metric_desired(Metric("q", 8.0), 4, [8.7] * 4, 0) == 4  # inside the 0.1 tolerance
    assert h.metric_desired(Metric("q", 8.0), 4, [2.0] * 4, 0) == 1


def test_starting_pods_count_as_zero_when_scaling_up() -> None:
    h = hpa()
    # 2 ready pods at 2x target, 2 starting: (16+16+0+0)/4 = 8 = target -> no change.
    assert h.metric_desired(Metric("q", 8.0), 4, [16.0, 16.0], 2) == 4
    assert h.metric_desired(Metric("q", 8.0), 4, [32.0, 32.0], 2) == 8


def test_scale_up_is_bounded_by_the_policies_per_period() -> None:
    h = hpa()
    metrics = {"q": ([800.0] * 2, 0)}
    assert h.step(0, 2, metrics) == 6  # max(2 x 200 %, 2 + 4 pods)
    assert h.step(5, 6, {"q": ([800.0] * 6, 0)}) == 6  # same period: 2 -> 6 already used up
    assert h.step(15, 6, {"q": ([800.0] * 6, 0)}) == 12  # next period: 6 x 200 %


def test_scale_down_waits_for_the_stabilisation_window() -> None:
    h = hpa()
    assert h.step(0, 10, {"q": ([8.0] * 10, 0)}) == 10
    for t in range(15, 300, 15):
        assert h.step(t, 10, {"q": ([1.0] * 10, 0)}) == 10  # the t=0 recommendation (10) holds
    assert h.step(315, 10, {"q": ([1.0] * 10, 0)}) == 8  # then at most 20 % per minute
    assert h.step(330, 8, {"q": ([1.0] * 8, 0)}) == 8


def test_the_largest_metric_wins_and_limits_apply() -> None:
    h = hpa(metrics=[Metric("q", 8.0), Metric("cpu", 80.0)])
    assert h.step(0, 4, {"q": ([1.0] * 4, 0), "cpu": ([120.0] * 4, 0)}) == 6
    h = hpa(max_replicas=5)
    assert h.step(0, 4, {"q": ([80.0] * 4, 0)}) == 5


def profile(tmp_path: Path) -> Path:
    level = {"statuses": {"200": 1000}, "completed": 1000}
    data = {
        "open_loop": [
            {**level, "throughput_rps": 500, "latency_ms": {"p99": 5}, "queue_depth_avg": 0.5,
             "server_cores": 0.4},
            {**level, "throughput_rps": 2000, "latency_ms": {"p99": 20}, "queue_depth_avg": 4,
             "server_cores": 0.9},
        ],
        "closed_loop": {"256": {"throughput_rps": 3000, "latency_ms": {"p99": 90},
                                "queue_depth_avg": 200, "server_cores": 1.2}},
        "ready_s": [5, 6, 9],
        "env": {"MAX_QUEUE_SIZE": "1024"},
    }  # fmt: skip
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(data))
    return path


def test_replica_model_queues_then_rejects(tmp_path) -> None:
    m = ReplicaModel.from_profile(profile(tmp_path))
    assert (m.capacity, m.ready_s, m.max_queue) == (3000, 6, 1024)
    assert interp(m.rates, m.p99_ms, 1250) == pytest.approx(12.5)
    assert m.rate_at_p99(55) == pytest.approx(2500)
    served, rejected, backlog, _, _ = m.second(2000, 0)
    assert (served, rejected, backlog) == (2000, 0, 0)
    served, rejected, backlog, p99, queue = m.second(3500, 0)
    assert (served, rejected, backlog) == (3000, 0, 500)
    assert p99 == pytest.approx(90 + 500 / 3000 * 1000) and queue == 700
    served, rejected, backlog, _, _ = m.second(4000, 500)
    assert (served, rejected, backlog) == (3000, 476, 1024)


def test_replay_of_a_spike_queue_metric_beats_cpu_only(tmp_path) -> None:
    out = simulate_hpa.main(["--profile", str(profile(tmp_path)), "--start", str(9 * 3600),
                             "--seconds", "7200", "--peak", "8000"])  # fmt: skip
    assert out == 0
    spec, cpu_request = simulate_hpa.manifest()
    model = ReplicaModel.from_profile(profile(tmp_path))
    args = simulate_hpa.parse_args(
        ["--start", str(9 * 3600), "--seconds", "7200", "--peak", "8000"]
    )
    both = simulate_hpa.simulate("q", Hpa.from_spec(spec), model, cpu_request, args)
    cpu_spec = {**spec, "metrics": [m for m in spec["metrics"] if m["type"] == "Resource"]}
    cpu = simulate_hpa.simulate("cpu", Hpa.from_spec(cpu_spec), model, cpu_request, args)
    assert both.rejected < cpu.rejected
    assert both.recovered_s is not None
    assert cpu.recovered_s is None or both.recovered_s <= cpu.recovered_s
