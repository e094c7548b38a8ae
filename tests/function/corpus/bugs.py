"""Planted bugs: each a copy of a correct gradient from layers.py with one line changed (marked `# BUG`), or a
wrapper that changes one thing in the correct gradient's answer (an element, a sign, a swap).

Plus the misbehaving functions the judge must call an `error`: a grad that changes its input, a loss that is
NaN, a grad that returns a string.
"""

from __future__ import annotations

import numpy as np

from . import layers
from .layers import BN_EPS, REG


def affine_missing_transpose(x, w, b, dout):
    dx = dout.dot(w).reshape(x.shape)  # BUG: w, not w.T (w is square, so the shapes still fit)
    dw = x.reshape(x.shape[0], -1).T.dot(dout)
    db = np.sum(dout, axis=0)
    return {"x": dx, "w": dw, "b": db}


def affine_wrong_sum_axis(x, w, b, dout):
    dx = dout.dot(w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T.dot(dout)
    db = np.sum(dout, axis=1)  # BUG: over the outputs, not the batch (dout is square)
    return {"x": dx, "w": dw, "b": db}


def embedding_assign_for_add(W, idx, dout):
    dW = np.zeros_like(W)
    for i, word in enumerate(idx):
        dW[word] = dout[i]  # BUG: '=' for '+=': a word used twice keeps only its last row
    return {"W": dW}


def residual_assign_for_add(x, w, dout):
    h = np.tanh(x.dot(w))
    dh = dout * (1 - h ** 2)
    dx = dout.copy()
    dx = dh.dot(w.T)  # BUG: '=' for '+=': the skip connection's share is overwritten
    dw = x.T.dot(dh)
    return {"x": dx, "w": dw}


def residual_missing_branch(x, w, dout):
    h = np.tanh(x.dot(w))
    dh = dout * (1 - h ** 2)
    dx = dout.copy()  # BUG: the tanh branch's `dx += dh.dot(w.T)` is missing
    dw = x.T.dot(dh)
    return {"x": dx, "w": dw}


def conv1d_fancy_add(x, w, b, dout):
    N, C, L = x.shape
    F, _, K = w.shape
    idx = layers._windows(L, K)
    Lo = idx.shape[0]
    cols = x[:, :, idx].transpose(0, 2, 1, 3).reshape(N * Lo, C * K)
    dout2 = dout.transpose(0, 2, 1).reshape(N * Lo, F)
    dw = dout2.T.dot(cols).reshape(w.shape)
    db = np.sum(dout2, axis=0)
    dcols = dout2.dot(w.reshape(F, -1)).reshape(N, Lo, C, K).transpose(0, 2, 1, 3)
    dx = np.zeros_like(x)
    dx[:, :, idx] += dcols  # BUG: fancy-index += is buffered: overlapping windows overwrite, not add
    return {"x": dx, "w": dw, "b": db}


def softmax_missing_mean(W, X, y):
    N = X.shape[0]
    scores = X.dot(W)
    scores -= np.max(scores, axis=1, keepdims=True)
    probs = np.exp(scores) / np.sum(np.exp(scores), axis=1, keepdims=True)
    dscores = probs
    dscores[np.arange(N), y] -= 1
    dW = X.T.dot(dscores)  # BUG: the 1/N of the mean is missing
    dW += 2 * REG * W
    return {"W": dW}


def softmax_missing_reg(W, X, y):
    N = X.shape[0]
    scores = X.dot(W)
    scores -= np.max(scores, axis=1, keepdims=True)
    probs = np.exp(scores) / np.sum(np.exp(scores), axis=1, keepdims=True)
    dscores = probs
    dscores[np.arange(N), y] -= 1
    dW = X.T.dot(dscores) / N
    # BUG: the regulariser's `dW += 2 * REG * W` is missing
    return {"W": dW}


def sigmoid_sign_flip(x, dout):
    s = 1 / (1 + np.exp(-x))
    dx = -dout * s * (1 - s)  # BUG: the sign
    return dx


def attention_missing_scale(Q, K, V, dout):
    scale = 1 / Q.shape[1] ** 0.5
    scores = Q.dot(K.T) * scale
    scores -= np.max(scores, axis=1, keepdims=True)
    P = np.exp(scores)
    P /= np.sum(P, axis=1, keepdims=True)
    dV = P.T.dot(dout)
    dP = dout.dot(V.T)
    dscores = P * (dP - np.sum(dP * P, axis=1, keepdims=True))
    dQ = dscores.dot(K)  # BUG: the 1/sqrt(d) of the scores is missing
    dK = dscores.T.dot(Q) * scale
    return {"Q": dQ, "K": dK, "V": dV}


def batchnorm_missing_scale(x, gamma, beta, dout):
    N = x.shape[0]
    mu = x.mean(axis=0)
    var = x.var(axis=0)
    std = np.sqrt(var + BN_EPS)
    xhat = (x - mu) / std
    dbeta = dout.sum(axis=0)
    dgamma = np.sum(dout * xhat, axis=0)
    dxhat = dout * gamma
    dx = 1 / std * (N * dxhat - dxhat.sum(axis=0) - xhat * np.sum(dxhat * xhat, axis=0))  # BUG: no 1/N
    return {"x": dx, "gamma": dgamma, "beta": dbeta}



def two_layer_swapped(W1, b1, W2, b2, X, y):
    grads = layers.two_layer_grad(W1, b1, W2, b2, X, y)
    grads["W1"], grads["W2"] = grads["W2"], grads["W1"]  # BUG: dW1 and dW2 swapped (equal shapes)
    return grads


def one_element_off(grad, var: str, index: tuple[int, ...], relative: float = 1e-3):
    """grad with element `index` of d`var` off by `relative` (|dW| there is about 1)."""

    def wrong(**inputs):
        grads = grad(**inputs)
        grads[var][index] *= 1 + relative  # BUG: one element off
        return grads

    wrong.__name__ = wrong.__qualname__ = f"{grad.__name__}_one_element_off"
    return wrong


def l2_grad_mutating(W, X, Y):
    """A grad that scales its input in place and so returns the gradient at 3W, not at W."""
    N = X.shape[0]
    W *= 3  # BUG: changes the caller's W
    dW = 2 * X.T.dot(X.dot(W) - Y) / N
    return {"W": dW}


def unstable_cross_entropy(x, y):
    """Softmax cross-entropy without the max shift: at logits near 1000 exp overflows and f is NaN."""
    N = x.shape[0]
    probs = np.exp(x) / np.sum(np.exp(x), axis=1, keepdims=True)
    return -np.sum(np.log(probs[np.arange(N), y])) / N


def cross_entropy_grad(x, y):
    N = x.shape[0]
    m = np.max(x, axis=1, keepdims=True)
    probs = np.exp(x - m) / np.sum(np.exp(x - m), axis=1, keepdims=True)
    probs[np.arange(N), y] -= 1
    return {"x": probs / N}


def relu_grad_as_text(x, dout):
    return "dout * (x > 0)"  # BUG: the formula, not its value
