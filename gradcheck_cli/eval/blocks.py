"""Many points, a block at a time: the same op calls on 16k-point slices, so each gate's inputs, temporaries
and outputs stay in the processor's cache instead of streaming 8 MB arrays through memory on every numpy call.
Elementwise ops give the same bits on a slice as on the whole, so blocks change no result.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

BLOCK = 16_384  # points per block: a few dozen live (B,) float64 arrays fit in L2


def _slice(value, size: int, start: int, stop: int):
    return value[start:stop] if np.ndim(value) and np.shape(value)[0] == size else value


def blockwise(graph, inputs: dict, compute: Callable[[dict], dict]) -> dict:
    """compute(block of inputs) → {name: (block, ...) array}, run per block and joined into (points, ...) arrays."""
    size = max((np.shape(v)[0] for v in inputs.values() if np.ndim(v)), default=1)
    if size < 2 * BLOCK:
        return {k: np.broadcast_to(v, (size, *np.shape(v)[1:])) for k, v in compute(inputs).items()}
    result: dict = {}
    for start in range(0, size, BLOCK):
        stop = min(size, start + BLOCK)
        part = compute({k: _slice(v, size, start, stop) for k, v in inputs.items()})
        for name, value in part.items():
            if name not in result:
                result[name] = np.empty((size, *np.shape(value)[1:]), np.result_type(value))
            result[name][start:stop] = value
    return result
