"""Each batching policy on hand-built arrivals, against batches derived by hand."""

from __future__ import annotations

import pytest

from formulations.replay.core import UNBOUNDED, PlanChange, Request
from formulations.replay.policies import (
    AdaptiveBatch,
    AimdBatch,
    CellularBatch,
    ContinuousBatch,
    FixedBatch,
    NeverFits,
    Pipeline,
    ProfileService,
    ReservationBatch,
    Stage,
)
from formulations.replay.stats import TokenRecorder
from tests.replay.helpers import run_one


def test_fixed_batch_waits_for_a_full_batch_or_the_timeout() -> None:
    # 1 s per batch, batches of 3, timeout 1 s: 0, 0.1, 0.2 run at 0.2 (full) until 1.2;
    # 0.3 waits until its timeout at 1.3 (until 2.3); 5.0 alone runs at its timeout 6.0
    log, station = run_one(FixedBatch(ProfileService([1.0] * 3), 3, 1.0), [0, 0.1, 0.2, 0.3, 5])
    assert log.done_s == pytest.approx({0: 1.2, 1: 1.2, 2: 1.2, 3: 2.3, 4: 7.0})
    assert station.batches == 3 and station.busy_s == pytest.approx(3.0)


def test_fixed_batch_by_class_serves_the_oldest_head() -> None:
    policy = FixedBatch(ProfileService([1.0, 1.0]), 2, 0.0, by_class=2)
    for rid, (klass, t) in enumerate([(0, 0.0), (1, 0.1), (1, 0.2), (0, 0.3)]):
        r = Request(rid, klass, t, 9.0, 1, (0,))
        r.enqueued_s = t
        policy.enqueue(r, t)
    first = policy.take(0.5, lambda r: None)
    assert isinstance(first, tuple) and [r.rid for r in first[0]] == [0, 3]
    second = policy.take(1.5, lambda r: None)
    assert isinstance(second, tuple) and [r.rid for r in second[0]] == [1, 2]


def test_adaptive_batch_waits_until_the_heads_latest_start() -> None:
    # Proteus's accscale (core/predictor.py): sizes 1, 2, 4 at 1.0, 1.5, -, 2.5 s; SLO 4 s.
    # At 0 the head's latest start for size 1 is 3.0; at 0.2 two fill size 2: 4 - 1.5 = 2.5;
    # at 0.4 three still fill 2 (the same event). At 2.5 [0, 1] run until 4.0; request 2's
    # latest start (4.4 - 1.0 = 3.4) passes while busy, so it runs at the batch end: late
    service = ProfileService([1.0, 1.5, 2.0, 2.5])
    log, _ = run_one(AdaptiveBatch(service, (1, 2, 4)), [0.0, 0.2, 0.4], slo_s=4.0)
    assert log.done_s == pytest.approx({0: 4.0, 1: 4.0, 2: 5.0})
    assert log.classes[0].late == 1


def test_adaptive_batch_is_lazy_and_drops_a_head_the_filled_batch_would_miss() -> None:
    service = ProfileService([1.0, 1.5])
    # a full batch of 2 still waits for the head's latest start, 4 - 1.5
    log, _ = run_one(AdaptiveBatch(service, (1, 2)), [0.0, 0.0], slo_s=4.0)
    assert log.done_s == pytest.approx({0: 4.0, 1: 4.0})
    # SLO 1.2 s: at 0.1 the batch of 2 would end at 1.6 > 1.2, so request 0 is dropped
    # (pop_while_first_expires); request 1 alone starts at 1.3 - 1.0 and ends on time
    log, _ = run_one(AdaptiveBatch(service, (1, 2)), [0.0, 0.1], slo_s=1.2)
    assert log.done_s == pytest.approx({1: 1.3})
    counts = log.classes[0]
    assert (counts.requests, counts.served, counts.dropped, counts.on_time) == (2, 1, 1, 1)


def test_adaptive_batch_runs_the_cap_at_a_batch_end_when_more_wait() -> None:
    # 1 s per batch, SLO 10 s: request 0 runs at its latest start 9 (until 10); three
    # arrive at 9.5 while busy; at 10 more than the cap (2) wait: [1, 2] at once; request 3
    # waits for its latest start 19.5 - 1 = 18.5
    policy = AdaptiveBatch(ProfileService([1.0, 1.0]), (1, 2))
    log, _ = run_one(policy, [0.0, 9.5, 9.5, 9.5], slo_s=10.0)
    assert log.done_s == pytest.approx({0: 10.0, 1: 11.0, 2: 11.0, 3: 19.5})


def test_adaptive_batch_drops_requests_past_twice_their_slo_at_a_batch_start() -> None:
    # size 1 only, 1 s, SLO 1.5 s, four at 0: [0] at 0.5; the next heads' latest starts
    # pass while busy, so they run back to back and late (1.5 -> 2.5 -> 3.5); at 3.5
    # request 3 is older than 2 x 1.5 s: dropped (drop_expired_requests)
    log, _ = run_one(AdaptiveBatch(ProfileService([1.0]), (1,)), [0.0] * 4, slo_s=1.5)
    assert log.done_s == pytest.approx({0: 1.5, 1: 2.5, 2: 3.5})
    counts = log.classes[0]
    assert (counts.late, counts.dropped) == (2, 1)


def test_aimd_grows_additively_and_backs_off_after_a_late_batch() -> None:
    # 1 s per batch, SLO 1.5 s, 6 requests at 0: cap 1 -> [0] done 1.0 on time -> cap 2 ->
    # [1, 2] done 2.0, late -> cap int(2 * 0.9) = 1 -> [3] at 3.0, [4] at 4.0, [5] at 5.0
    log, _ = run_one(AimdBatch(ProfileService([1.0] * 4), 4), [0.0] * 6, slo_s=1.5)
    assert log.done_s == pytest.approx({0: 1.0, 1: 2.0, 2: 2.0, 3: 3.0, 4: 4.0, 5: 5.0})
    assert log.classes[0].late == 5


def test_aimd_steps_over_allowed_sizes() -> None:
    # Proteus's simulator: sizes 1, 2, 4, one step up after each on-time batch
    policy = AimdBatch(ProfileService([1.0] * 4), 4, sizes=(1, 2, 4))
    log, _ = run_one(policy, [0.0] * 7)
    assert log.done_s == pytest.approx({0: 1, 1: 2, 2: 2, 3: 3, 4: 3, 5: 3, 6: 3})
    assert policy.batch_cap == 4


def test_reservation_batch_reserves_every_stage_before_it_starts() -> None:
    # two stages of one worker, 1 s each, 0.25 s per request between them, batch of 2.
    # 4 requests at 0: batch A runs stage 0 0-1, transfer 1-1.5, stage 1 1.5-2.5. Batch B
    # would queue 1 s behind A (its offer at 0 completes at 3.5 for 2.5 s of work): it waits
    # until 1.0 and runs 1-2, 2-2.5 (the link is busy until 1.5 from A, free at 2), 2.5-3.5
    stages = (
        Stage("a", 1, lambda b: 1.0),
        Stage("b", 1, lambda b: 1.0, transfer_s_per_request=0.25),
    )
    policy = ReservationBatch([Pipeline(stages, 2)])
    log, _ = run_one(policy, [0.0] * 4, workers=UNBOUNDED)
    assert log.done_s == pytest.approx({0: 2.5, 1: 2.5, 2: 3.5, 3: 3.5})
    assert policy.busy_s_by_pool == pytest.approx({"a": 2.0, "b": 2.0})
    assert log.classes[0].wait_sum_s == pytest.approx(2 * 0.0 + 2 * 1.0)


def test_cellular_batch_joins_requests_at_cell_boundaries() -> None:
    # an LSTM: one cell per token; tau(1) = 1 s, tau(2) = 1.5 s, at most 2 cells. Request 0
    # (3 tokens) starts alone at 0; request 1 (1 token, also at 0) joins its second cell at
    # 1.0 (both done 2.5: request 1 finishes); request 0's third cell runs 2.5 -> 3.5
    tokens = {0: 3, 1: 1}
    policy = CellularBatch([[1.0, 1.5]], [2], lambda r: [(0, 1)] * tokens[r.rid])
    log, station = run_one(policy, [0.0, 0.0])
    assert log.done_s == pytest.approx({0: 3.5, 1: 2.5})
    assert station.batches == 3


def test_plan_change_loads_the_model_after_the_running_batch() -> None:
    # 1 s batches; at 0.5 a new model (2 s batches) loads for 1 s once request 0 is done
    # (1.0 -> 2.0); request 1 then runs 2 -> 4, request 2 (at 3) runs 4 -> 6
    change = PlanChange(0.5, 0, FixedBatch(ProfileService([2.0])), load_s=1.0)
    log, station = run_one(FixedBatch(ProfileService([1.0])), [0.0, 0.5, 3.0], changes=[change])
    assert log.done_s == pytest.approx({0: 1.0, 1: 4.0, 2: 6.0})
    assert station.loading_s == pytest.approx(1.0)


def test_added_workers_load_before_they_serve() -> None:
    change = PlanChange(0.0, 0, workers=2, load_s=1.0)
    log, station = run_one(FixedBatch(ProfileService([2.0])), [0.0, 0.0], changes=[change])
    assert log.done_s == pytest.approx({0: 2.0, 1: 3.0})
    assert station.utilisation(3.0) == pytest.approx(4.0 / 6.0)


def test_continuous_batch_prefills_when_a_slot_is_free_then_decodes_everyone() -> None:
    # prefill 0.1 s, decode 0.01 s, 2 sequence slots; outputs 3, 2 and 1 tokens, all at 0.
    # 0-0.1 prefill r0; 0.1-0.2 prefill r1; 0.2-0.21 decode both (r1 done); 0.21-0.31
    # prefill r2 (1 token: done); 0.31-0.32 decode r0 (done)
    outputs = {0: 3, 1: 2, 2: 1}
    tokens = TokenRecorder(ttft_slo_s=0.25, tpot_slo_s=0.05)
    policy = ContinuousBatch(
        lambda prompt: 0.1,
        lambda n, context: 0.01,
        1e6,
        2,
        lambda r: (10, outputs[r.rid]),
        tokens,
    )
    log, station = run_one(policy, [0.0, 0.0, 0.0])
    assert log.done_s == pytest.approx({0: 0.32, 1: 0.21, 2: 0.31})
    assert station.batches == 5 and station.busy_s == pytest.approx(0.32)
    tokens.flush()
    assert tokens.ttft_sum_s == pytest.approx(0.1 + 0.2 + 0.31)
    assert tokens.tpot_sum_s == pytest.approx(0.11 + 0.01)
    assert (tokens.requests, tokens.streamed, tokens.ttft_met, tokens.tpot_met) == (3, 2, 2, 1)
    # r0 misses TPOT (0.11 s), r2 misses TTFT (0.31 s): late means either SLO missed
    assert log.classes[0].late == 2


def test_continuous_batch_refuses_a_request_longer_than_the_kv_cache() -> None:
    tokens = TokenRecorder(1.0, 1.0)
    policy = ContinuousBatch(lambda p: 0.1, lambda n, c: 0.01, 100, 4, lambda r: (90, 20), tokens)
    with pytest.raises(NeverFits):
        run_one(policy, [0.0])


@pytest.mark.parametrize("workers", [3, 12])
def test_reservation_batch_vectorised_search_matches_the_loop(
    workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import numpy as np

    from formulations.replay import policies

    times = np.sort(np.random.default_rng(4).uniform(0, 2.0, 400)).tolist()
    pipelines = [
        Pipeline(
            (Stage("a", workers, lambda b: 0.05 * b), Stage("b", workers, lambda b: 0.04, 0.002)), 2
        ),
        Pipeline((Stage("c", 2, lambda b: 0.03),), 1),
    ]
    done = []
    for threshold in (1, 10**9):  # every stage in numpy, then every stage looped
        monkeypatch.setattr(policies, "VECTOR_WORKERS", threshold)
        log, _ = run_one(ReservationBatch(pipelines), times, workers=UNBOUNDED)
        done.append(log.done_s)
    assert done[0] == done[1] and len(done[0]) == 400
