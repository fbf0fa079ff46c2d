"""The training/serving contract: what a review becomes, what an artifact holds, how it is called.

Both ``training/`` and ``app/`` stand on this package; it never imports either of them, nor
FastAPI. Modules:

- ``tokenizer``: text -> ids -> 80-token rows and whole-review windows (the one tokenizer);
- ``scoring``: how window outputs combine into one calibrated probability;
- ``artifact``: reading a versioned artifact and proving it matches this code;
- ``savedmodel``: the one function that calls the exported SavedModel signature;
- ``network``: the seed network's Keras definition, and ``rebuild_network`` from an artifact's
  SavedModel weights (the one reader of them; ``seed_weights``: the arrays by role);
- ``gradients``: per-word gradient attributions through that rebuilt network, checked against the
  signature (``/explain``'s default method);
- ``cudnn``: the GPU serving function (the rebuilt network traced on the GPU, cuDNN kernel) and
  the checks that decide whether it may replace the SavedModel;
- ``runner``: device choice, XLA compilation with padded batch shapes, the GPU kernel, warm-up.
- ``bulk``: many texts -> the service's rows -> fixed-size model calls -> combined scores, in
  order (the batch-scoring CLI ``batch.cli``; a tokenizer thread overlaps the model).
"""
