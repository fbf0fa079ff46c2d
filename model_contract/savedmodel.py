"""The one place in the repository that calls the exported SavedModel.

Signature ``serving_default``: int32 ``token_ids`` [batch, maxlen] -> float32 ``probability``
[batch] = P(positive). Serving (``runner.ModelRunner``, plain or XLA-compiled), evaluation, bench
and the tests all call the model through :meth:`ServingSignature.__call__`.

The one exception is not a call of the SavedModel: on a GPU the runner may serve
``cudnn.build_cudnn_function``, the network *rebuilt* from this SavedModel's weights and traced on
the GPU, and only after checking it against this signature (``cudnn.refusal``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import tensorflow as tf

from model_contract.artifact import INPUT_NAME, OUTPUT_NAME, SIGNATURE, ArtifactError


class ServingSignature:
    """A loaded artifact's ``serving_default`` function, its input spec checked."""

    def __init__(self, path: Path, maxlen: int, device: str = "/CPU:0") -> None:
        with tf.device(device):
            # Keep the loaded object: the signature function's variables live as long as it does.
            self._loaded = tf.saved_model.load(str(path))
        try:
            self._fn = self._loaded.signatures[SIGNATURE]
        except KeyError as exc:
            raise ArtifactError(f"{path}: SavedModel has no signature {SIGNATURE!r}") from exc
        spec = self._fn.structured_input_signature[1].get(INPUT_NAME)
        if spec is None or spec.dtype != tf.int32 or spec.shape.as_list()[1:] != [maxlen]:
            raise ArtifactError(
                f"{path}: signature input {INPUT_NAME!r} is {spec}, expected int32 [None, {maxlen}]"
            )
        self.maxlen = maxlen

    def __call__(self, ids: tf.Tensor) -> tf.Tensor:
        """P(positive) [n] for int32 ids [n, maxlen] (a tensor; traceable inside tf.function)."""
        return self._fn(**{INPUT_NAME: ids})[OUTPUT_NAME]

    def predict(self, ids: npt.NDArray[np.int32]) -> npt.NDArray[np.float32]:
        """The same call on numpy arrays (tests, bench, evaluation helpers)."""
        out = self(tf.constant(ids, dtype=tf.int32))
        return np.asarray(out.numpy(), dtype=np.float32).reshape(-1)
