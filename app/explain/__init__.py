"""``POST /explain``: which words moved a review's score, and by how much (docs/explain.md).

- ``plan``: a review -> model rows, and the rows' outputs -> per-word numbers (numpy only);
- ``words``: the words a person sees, lined up with the ids the model saw; the answer's dicts;
- ``gradient``: the gradient explainer (its own batcher over ``model_contract.gradients``);
- ``schemas``: the request and response models; ``routes``: the route, the demo page, warm-up.
"""
