"""check_function with your Hessian and your Hessian-vector product, then Newton's steps with the right Hessian
and with the planted one (docs/second-order.md)."""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import logreg  # noqa: E402  (this directory's logreg.py)

from gradcheck_cli import check_function  # noqa: E402

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "logreg.json")) as file:
    data = {name: np.array(value, dtype=float) for name, value in json.load(file).items()}
report = check_function(logreg.loss, data, logreg.grad, wrt="w", hessian=logreg.hessian_fixed, hvp=logreg.hvp)
print(report.text(80))
report.raise_for_status()

print("|gradient| after each Newton step    with hessian_fixed    with hessian (no weights)")
right = wrong = data["w"]
for step in range(1, 6):
    right = logreg.newton_step(right, data["X"], data["y"], logreg.hessian_fixed)
    wrong = logreg.newton_step(wrong, data["X"], data["y"], logreg.hessian)
    norms = [np.linalg.norm(logreg.grad(w, data["X"], data["y"])) for w in (right, wrong)]
    print(f"  step {step}{norms[0]:>39.1e}{norms[1]:>29.1e}")
