"""cs231n-style layers checked in a test suite: one test per layer, check_layer(...).raise_for_status().

Your layers.py is imported as usual; here it is docs/examples/cs231n_layers.py (and its twin with a bug in each
backward pass, which must be caught).
"""

import sys
from pathlib import Path

import numpy as np
import pytest

from gradcheck_cli import GradientCheckFailed, check_function, check_layer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs" / "examples"))

import cs231n_layers as layers  # noqa: E402
import cs231n_layers_wrong as wrong  # noqa: E402


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_affine_backward(rng):
    inputs = {"x": rng.standard_normal((4, 5)), "w": rng.standard_normal((5, 3)), "b": rng.standard_normal(3)}
    check_layer(layers.affine_forward, layers.affine_backward, inputs).raise_for_status()


def test_conv_backward_naive(rng):
    inputs = {"x": rng.standard_normal((2, 3, 5, 5)), "w": rng.standard_normal((2, 3, 3, 3)), "b": rng.standard_normal(2),
              "conv_param": {"stride": 2, "pad": 1}}
    check_layer(layers.conv_forward_naive, layers.conv_backward_naive, inputs).raise_for_status()


def test_softmax_loss(rng):
    check_function(layers.softmax_loss, {"x": rng.standard_normal((5, 4)), "y": np.array([0, 3, 1, 2, 3])}).raise_for_status()


def test_a_batchnorm_backward_without_the_variance_path_is_caught(rng):
    inputs = {"x": rng.standard_normal((4, 5)), "gamma": rng.standard_normal(5), "beta": rng.standard_normal(5),
              "bn_param": {"mode": "train"}}
    with pytest.raises(GradientCheckFailed, match=r"dx \(4, 5\): ✗ mismatch"):
        check_layer(layers.batchnorm_forward, wrong.batchnorm_backward, inputs).raise_for_status()
