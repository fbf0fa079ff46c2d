"""The GPU serving function: the artifact's network rebuilt and traced where Keras picks cuDNN.

Why it exists: Keras 3 chooses the fused cuDNN LSTM kernel when a function is *traced*, and only
if TensorFlow sees a GPU at that moment (``keras/src/backend/tensorflow/rnn.py``: ``cudnn_ok`` ->
``args_supported and _is_gpu_available()``). The committed artifacts were exported on CPUs, so
their SavedModel holds the generic LSTM (a ``While`` loop of 80 small steps), which is what a GPU
would run if it called the SavedModel.

So on a GPU the runner builds a second function: ``network.rebuild_network`` (same weights, read
from the SavedModel's checkpoint) traced under ``/GPU:0``, whose graph then holds a ``CudnnRNNV3``
op. It is a separate, rebuilt network, not the SavedModel (``savedmodel.ServingSignature`` stays
the one place that calls the SavedModel), so the runner adopts it only after ``refusal`` finds
nothing wrong: a cuDNN op in its graph, and outputs equal to the SavedModel's within 1e-5 on the
artifact's golden examples. Otherwise the runner keeps the SavedModel and logs one warning.

Verified here (no GPU on this project's machines): the structure, by tracing with Keras' GPU
check forced (tests/model/test_cudnn.py), and the rebuilt network's CPU numerics. The cuDNN kernel
itself has not run on real hardware here; ``scripts/gpu_check.sh`` does that on a GPU machine.
"""

from __future__ import annotations

import collections
import json
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import tensorflow as tf

from model_contract.artifact import PREPROCESSING_FILE, ArtifactError

KERNEL_XLA_CPU = "xla-cpu"  # the SavedModel's graph, XLA-compiled per padded batch size (CPU)
KERNEL_SAVEDMODEL = "savedmodel"  # the SavedModel's graph as exported (generic LSTM loop)
KERNEL_CUDNN = "cudnn"  # the rebuilt network traced on a GPU: fused cuDNN LSTM kernel
PARITY_ATOL = 1e-5
CUDNN_OP_PREFIX = "CudnnRNN"  # CudnnRNN, CudnnRNNV2, CudnnRNNV3 (Keras 3 emits V3)


class TensorFn(Protocol):
    """int32 ids [n, maxlen] -> P(positive) [n], as a tensor (ServingSignature, concrete fns)."""

    def __call__(self, ids: tf.Tensor) -> tf.Tensor: ...


def op_types(fn: Any) -> collections.Counter[str]:
    """Op types in a concrete function's graph, including every function in its library."""
    graph_def = fn.graph.as_graph_def()
    counts = collections.Counter(node.op for node in graph_def.node)
    for function in graph_def.library.function:
        counts.update(node.op for node in function.node_def)
    return counts


def uses_cudnn(fn: Any) -> bool:
    return any(op.startswith(CUDNN_OP_PREFIX) for op in op_types(fn))


def cudnn_weight_variables(fn: Any) -> list[tf.Variable]:
    """The captured variables that feed the cuDNN op's ``params`` input (its LSTM weights).

    Walks the graph back from that input to the placeholders of captured resources, then maps
    them to the function's variables. Raises ``ValueError`` when the graph has no cuDNN op.
    """
    ops = [op for op in fn.graph.get_operations() if op.type.startswith(CUDNN_OP_PREFIX)]
    if len(ops) != 1:
        raise ValueError(f"expected one {CUDNN_OP_PREFIX}* op in the graph, found {len(ops)}")
    params = next(
        t
        for t, arg in zip(ops[0].inputs, ops[0].op_def.input_arg, strict=True)
        if arg.name == "params"
    )
    captured = {id(internal): external for external, internal in fn.graph.captures}
    by_handle = {id(v.handle): v for v in fn.variables}
    found: dict[str, tf.Variable] = {}
    seen: set[str] = set()
    stack = [params.op]
    while stack:
        op = stack.pop()
        if op.name in seen:
            continue
        seen.add(op.name)
        if op.type == "Placeholder":
            external = captured.get(id(op.outputs[0]))
            variable = by_handle.get(id(external)) if external is not None else None
            if variable is not None:
                found[variable.name] = variable
        stack.extend(t.op for t in op.inputs)
    return [found[name] for name in sorted(found)]


def trace_serving_function(model: Any, maxlen: int, device: str) -> Any:
    """A concrete function int32 [None, maxlen] -> P(positive) [n], traced under ``device``.

    Keras decides cuDNN vs the generic loop here, once: cuDNN iff TensorFlow sees a GPU now.
    """

    def serve(token_ids: tf.Tensor) -> tf.Tensor:
        return tf.reshape(model(token_ids, training=False), [-1])

    function = tf.function(serve, input_signature=[tf.TensorSpec([None, maxlen], tf.int32)])
    with tf.device(device):
        concrete = function.get_concrete_function()
    # The function holds the model's variables only weakly: once a garbage collection frees the
    # model, calls still run but ``concrete.variables`` (``cudnn_weight_variables``) fails. Keep
    # the model alive as long as the function.
    concrete.keras_model = model
    return concrete


def build_cudnn_function(artifact_path: Path, maxlen: int, device: str) -> Any:
    """The artifact's network rebuilt from its SavedModel weights and traced on ``device``."""
    from model_contract.network import rebuild_network

    return trace_serving_function(rebuild_network(artifact_path, maxlen), maxlen, device)


def golden_ids(artifact_path: Path) -> npt.NDArray[np.int32]:
    """The ids recorded at export for the golden examples (``preprocessing.json``)."""
    try:
        pre = json.loads((Path(artifact_path) / PREPROCESSING_FILE).read_text(encoding="utf-8"))
        ids = np.asarray([example["ids"] for example in pre["golden"]], dtype=np.int32)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ArtifactError(f"{artifact_path}: no golden example ids ({exc})") from exc
    if ids.ndim != 2 or len(ids) == 0:
        raise ArtifactError(f"{artifact_path}: golden example ids have shape {ids.shape}")
    return ids


def refusal(
    candidate: Any, reference: TensorFn, ids: npt.NDArray[np.int32], device: str
) -> str | None:
    """Why ``candidate`` must not replace ``reference`` (the SavedModel), or None if it may."""
    if not uses_cudnn(candidate):
        return "its graph holds no cuDNN op (Keras saw no GPU when tracing)"
    batch = tf.constant(ids, dtype=tf.int32)
    try:
        with tf.device(device):
            got = np.asarray(candidate(batch).numpy(), dtype=np.float32).reshape(-1)
            want = np.asarray(reference(batch).numpy(), dtype=np.float32).reshape(-1)
    except tf.errors.OpError as exc:
        return f"it failed to run: {exc.message.splitlines()[0]}"
    if got.shape != want.shape:
        return f"it returned shape {got.shape}, the SavedModel {want.shape}"
    diff = float(np.max(np.abs(got - want)))
    if not diff <= PARITY_ATOL:  # also catches NaN
        return (
            f"it differs from the SavedModel by {diff:.3g} > {PARITY_ATOL} on the golden examples"
        )
    return None
