"""model_contract.policy: the padded XLA batch shapes, warm-up shapes and device choice."""

from __future__ import annotations

import bisect
import dataclasses
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model_contract.policy import (
    GPU_MIN_BATCH_SIZE,
    GPU_MIN_DELAY_S,
    BatchPolicy,
    padded_batch_sizes,
)


def step_of(max_batch_size: int) -> int:
    return max(16, -(-max_batch_size // 8))


@pytest.mark.parametrize(
    ("max_batch_size", "sizes"),
    [
        (1, [1]),
        (2, [1, 2]),
        (3, [1, 2, 3]),
        (16, [1, 2, 4, 8, 16]),
        (17, [1, 2, 4, 8, 16, 17]),
        (64, [1, 2, 4, 8, 16, 32, 48, 64]),  # the service default: 8 compiles
    ],
)
def test_padded_sizes_examples(max_batch_size: int, sizes: list[int]) -> None:
    assert padded_batch_sizes(max_batch_size) == sizes


def test_large_caps_compile_few_shapes() -> None:
    assert len(padded_batch_sizes(4096)) == 17  # the figure in the docstring
    assert padded_batch_sizes(4096)[-3:] == [3072, 3584, 4096]


@settings(max_examples=500, deadline=None)
@given(st.integers(min_value=1, max_value=20_000))
def test_padded_sizes_bound_the_padding(max_batch_size: int) -> None:
    sizes = padded_batch_sizes(max_batch_size)
    assert sizes[0] == 1 and sizes[-1] == max_batch_size
    assert all(a < b for a, b in itertools.pairwise(sizes)), sizes  # strictly rising
    step = step_of(max_batch_size)
    # log2(step) powers of two, then at most 8 multiples of the step, then the cap itself.
    assert len(sizes) <= step.bit_length() + 9
    for batch in range(1, max_batch_size + 1, max(1, max_batch_size // 997)):
        padded = sizes[bisect.bisect_left(sizes, batch)]  # the shape a batch of this size runs at
        assert batch <= padded <= max_batch_size
        # never doubles a small batch, never adds a whole step to a large one
        if batch <= step:
            assert padded < 2 * batch, (batch, padded)
        else:
            assert padded - batch < step, (batch, padded)


def test_policy_defaults() -> None:
    policy = BatchPolicy()
    assert (policy.max_batch_size, policy.max_delay_s, policy.max_queue_size) == (64, 0.0, 1024)
    assert policy.xla and policy.warmup_repeats == 2
    assert policy.padded_sizes == padded_batch_sizes(64)


@pytest.mark.parametrize("device", ["/GPU:0", "/gpu:1"])
def test_gpu_turns_xla_off_and_raises_batch_and_delay_floors(device: str) -> None:
    policy = BatchPolicy(max_batch_size=128, max_delay_s=0.0, max_queue_size=64).for_device(device)
    assert not policy.xla
    assert policy.padded_sizes == []  # every batch runs at its own size
    assert policy.max_batch_size == GPU_MIN_BATCH_SIZE and policy.max_delay_s == GPU_MIN_DELAY_S
    assert policy.max_queue_size >= policy.max_batch_size  # at least one full batch


def test_gpu_keeps_larger_configured_values() -> None:
    policy = BatchPolicy(max_batch_size=1024, max_delay_s=0.01, max_queue_size=4096)
    gpu = policy.for_device("/GPU:0")
    assert (gpu.max_batch_size, gpu.max_delay_s, gpu.max_queue_size) == (1024, 0.01, 4096)


@pytest.mark.parametrize("device", ["/CPU:0", "/cpu:0"])
def test_cpu_keeps_the_policy(device: str) -> None:
    policy = BatchPolicy(max_batch_size=32)
    assert policy.for_device(device) is policy


@pytest.mark.parametrize("max_batch_size", [1, 5, 64, 300])
def test_warmup_covers_every_shape_the_runner_can_see(max_batch_size: int) -> None:
    policy = BatchPolicy(max_batch_size=max_batch_size)
    warm = policy.warmup_sizes
    assert warm == sorted(set(warm))
    assert set(policy.padded_sizes) <= set(warm)
    assert warm[0] == 1 and warm[-1] == max_batch_size
    no_xla = dataclasses.replace(policy, xla=False)
    assert no_xla.warmup_sizes == sorted({1, max_batch_size})


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_batch_size": 0},
        {"max_batch_size": -4},
        {"max_queue_size": 0},
        {"max_delay_s": -0.001},
    ],
)
def test_invalid_values_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="max_batch_size"):
        BatchPolicy(**kwargs)  # type: ignore[arg-type]


def test_policy_is_immutable() -> None:
    policy = BatchPolicy()
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.max_batch_size = 8  # type: ignore[misc]


def test_background_rows_fill_only_the_padding_beside_foreground_rows() -> None:
    policy = BatchPolicy(max_batch_size=64, xla=True, background_rows=8)
    assert policy.background_room(0) == 8  # /explain alone: a short call
    assert [policy.background_room(n) for n in (1, 3, 5, 33, 64)] == [0, 1, 3, 15, 0]
    assert BatchPolicy(xla=False).background_room(3) == 0  # no padding: /predict calls alone
