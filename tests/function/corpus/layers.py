"""Correct layer and loss functions with hand-written gradients, written as people write them.

cs231n style, plain numpy: each `*_loss(**inputs)` returns a scalar (the layers are summed against a fixed
upstream `dout`, so the loss is <dout, layer(x)>), and each `*_grad(**inputs)` returns the gradients by input
name. Every function computes in the dtype of its inputs: no float64 constant arrays (np.zeros((n, m)),
np.eye), no numpy float64 scalars (np.sqrt(d), np.pi) next to float32 arrays, no .astype(float). A float32
input gives a float32 loss and float32 gradients (tests/function/test_corpus.py checks it).
"""

from __future__ import annotations

import math

import numpy as np

REG = 0.05  # L2 regularisation strength of the classifiers (a Python float: it keeps float32 arrays float32)
LEAK = 0.01
BN_EPS = 1e-5
HUBER_DELTA = 1.0


# --- affine: x (N, d1, ..., dk) flattened to (N, D), cs231n affine_forward / affine_backward ---

def affine_loss(x, w, b, dout):
    out = x.reshape(x.shape[0], -1).dot(w) + b
    return np.sum(dout * out)


def affine_grad(x, w, b, dout):
    dx = dout.dot(w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T.dot(dout)
    db = np.sum(dout, axis=0)
    return {"x": dx, "w": dw, "b": db}


# --- elementwise activations against an upstream dout ---

def relu_loss(x, dout):
    return np.sum(dout * np.maximum(0, x))


def relu_grad(x, dout):
    dx = dout * (x > 0)
    return dx  # one input checked: the bare array


def leaky_relu_loss(x, dout):
    return np.sum(dout * np.where(x > 0, x, LEAK * x))


def leaky_relu_grad(x, dout):
    dx = np.where(x > 0, dout, LEAK * dout)
    return dx


def sigmoid_loss(x, dout):
    return np.sum(dout * (1 / (1 + np.exp(-x))))


def sigmoid_grad(x, dout):
    s = 1 / (1 + np.exp(-x))
    dx = dout * s * (1 - s)
    return dx


def tanh_loss(x, dout):
    return np.sum(dout * np.tanh(x))


def tanh_grad(x, dout):
    t = np.tanh(x)
    dx = dout * (1 - t ** 2)
    return dx


def gelu_loss(x, dout):
    c = math.sqrt(2 / math.pi)
    return np.sum(dout * 0.5 * x * (1 + np.tanh(c * (x + 0.044715 * x ** 3))))


def gelu_grad(x, dout):
    c = math.sqrt(2 / math.pi)
    t = np.tanh(c * (x + 0.044715 * x ** 3))
    du = c * (1 + 3 * 0.044715 * x ** 2)
    dx = dout * (0.5 * (1 + t) + 0.5 * x * (1 - t ** 2) * du)
    return dx


def dropout_loss(x, mask, dout):
    """Inverted dropout in train mode with a fixed mask (its kept entries hold 1/p)."""
    return np.sum(dout * (x * mask))


def dropout_grad(x, mask, dout):
    dx = dout * mask
    return {"x": dx}


# --- classifiers: cs231n softmax_loss_vectorized and svm_loss_vectorized ---

def softmax_loss(W, X, y):
    N = X.shape[0]
    scores = X.dot(W)
    scores -= np.max(scores, axis=1, keepdims=True)
    probs = np.exp(scores) / np.sum(np.exp(scores), axis=1, keepdims=True)
    loss = -np.sum(np.log(probs[np.arange(N), y])) / N
    loss += REG * np.sum(W * W)
    return loss


def softmax_grad(W, X, y):
    N = X.shape[0]
    scores = X.dot(W)
    scores -= np.max(scores, axis=1, keepdims=True)
    probs = np.exp(scores) / np.sum(np.exp(scores), axis=1, keepdims=True)
    dscores = probs
    dscores[np.arange(N), y] -= 1
    dW = X.T.dot(dscores) / N
    dW += 2 * REG * W
    return {"W": dW}


def svm_loss(W, X, y):
    N = X.shape[0]
    scores = X.dot(W)
    correct = scores[np.arange(N), y][:, np.newaxis]
    margins = np.maximum(0, scores - correct + 1)
    margins[np.arange(N), y] = 0
    loss = np.sum(margins) / N
    loss += REG * np.sum(W * W)
    return loss


def svm_grad(W, X, y):
    N = X.shape[0]
    scores = X.dot(W)
    correct = scores[np.arange(N), y][:, np.newaxis]
    margins = np.maximum(0, scores - correct + 1)
    margins[np.arange(N), y] = 0
    binary = margins
    binary[margins > 0] = 1
    row_sum = np.sum(binary, axis=1)
    binary[np.arange(N), y] = -row_sum
    dW = X.T.dot(binary) / N
    dW += 2 * REG * W
    return {"W": dW}


# --- a two-layer net: affine - relu - affine - softmax, cs231n TwoLayerNet.loss ---

def two_layer_loss(W1, b1, W2, b2, X, y):
    N = X.shape[0]
    hidden = np.maximum(0, X.dot(W1) + b1)
    scores = hidden.dot(W2) + b2
    scores -= np.max(scores, axis=1, keepdims=True)
    probs = np.exp(scores) / np.sum(np.exp(scores), axis=1, keepdims=True)
    loss = -np.sum(np.log(probs[np.arange(N), y])) / N
    loss += 0.5 * REG * (np.sum(W1 * W1) + np.sum(W2 * W2))
    return loss


def two_layer_grad(W1, b1, W2, b2, X, y):
    N = X.shape[0]
    hidden = np.maximum(0, X.dot(W1) + b1)
    scores = hidden.dot(W2) + b2
    scores -= np.max(scores, axis=1, keepdims=True)
    probs = np.exp(scores) / np.sum(np.exp(scores), axis=1, keepdims=True)
    dscores = probs
    dscores[np.arange(N), y] -= 1
    dscores /= N
    grads = {}
    grads["W2"] = hidden.T.dot(dscores) + REG * W2
    grads["b2"] = np.sum(dscores, axis=0)
    dhidden = dscores.dot(W2.T)
    dhidden[hidden <= 0] = 0
    grads["W1"] = X.T.dot(dhidden) + REG * W1
    grads["b1"] = np.sum(dhidden, axis=0)
    return grads


# --- normalisation: cs231n batchnorm_forward (train mode) / batchnorm_backward_alt, and layernorm ---

def batchnorm_loss(x, gamma, beta, dout):
    mu = x.mean(axis=0)
    var = x.var(axis=0)
    xhat = (x - mu) / np.sqrt(var + BN_EPS)
    out = gamma * xhat + beta
    return np.sum(dout * out)


def batchnorm_grad(x, gamma, beta, dout):
    N = x.shape[0]
    mu = x.mean(axis=0)
    var = x.var(axis=0)
    std = np.sqrt(var + BN_EPS)
    xhat = (x - mu) / std
    dbeta = dout.sum(axis=0)
    dgamma = np.sum(dout * xhat, axis=0)
    dxhat = dout * gamma
    dx = (1.0 / N) / std * (N * dxhat - dxhat.sum(axis=0) - xhat * np.sum(dxhat * xhat, axis=0))
    return {"x": dx, "gamma": dgamma, "beta": dbeta}


def layernorm_loss(x, gamma, beta, dout):
    mu = x.mean(axis=1, keepdims=True)
    var = x.var(axis=1, keepdims=True)
    xhat = (x - mu) / np.sqrt(var + BN_EPS)
    out = gamma * xhat + beta
    return np.sum(dout * out)


def layernorm_grad(x, gamma, beta, dout):
    D = x.shape[1]
    mu = x.mean(axis=1, keepdims=True)
    var = x.var(axis=1, keepdims=True)
    std = np.sqrt(var + BN_EPS)
    xhat = (x - mu) / std
    dbeta = dout.sum(axis=0)
    dgamma = np.sum(dout * xhat, axis=0)
    dxhat = dout * gamma
    dx = (1.0 / D) / std * (D * dxhat - dxhat.sum(axis=1, keepdims=True)
                            - xhat * np.sum(dxhat * xhat, axis=1, keepdims=True))
    return {"x": dx, "gamma": dgamma, "beta": dbeta}


# --- logsumexp in its stable form (logits near 1000), attention, conv1d as a matmul ---

def logsumexp_loss(x, dout):
    m = np.max(x, axis=1)
    lse = m + np.log(np.sum(np.exp(x - m[:, np.newaxis]), axis=1))
    return np.sum(dout * lse)


def logsumexp_grad(x, dout):
    m = np.max(x, axis=1, keepdims=True)
    e = np.exp(x - m)
    dx = dout[:, np.newaxis] * e / np.sum(e, axis=1, keepdims=True)
    return {"x": dx}


def attention_loss(Q, K, V, dout):
    scale = 1 / Q.shape[1] ** 0.5
    scores = Q.dot(K.T) * scale
    scores -= np.max(scores, axis=1, keepdims=True)
    P = np.exp(scores)
    P /= np.sum(P, axis=1, keepdims=True)
    return np.sum(dout * P.dot(V))


def attention_grad(Q, K, V, dout):
    scale = 1 / Q.shape[1] ** 0.5
    scores = Q.dot(K.T) * scale
    scores -= np.max(scores, axis=1, keepdims=True)
    P = np.exp(scores)
    P /= np.sum(P, axis=1, keepdims=True)
    dV = P.T.dot(dout)
    dP = dout.dot(V.T)
    dscores = P * (dP - np.sum(dP * P, axis=1, keepdims=True))
    dQ = dscores.dot(K) * scale
    dK = dscores.T.dot(Q) * scale
    return {"Q": dQ, "K": dK, "V": dV}


def _windows(length: int, width: int) -> np.ndarray:
    """Indices of the sliding windows, shape (L_out, K): window i covers i .. i+K-1 (stride 1, no padding)."""
    return np.arange(width)[np.newaxis, :] + np.arange(length - width + 1)[:, np.newaxis]


def conv1d_loss(x, w, b, dout):
    N, C, L = x.shape
    F, _, K = w.shape
    idx = _windows(L, K)
    cols = x[:, :, idx].transpose(0, 2, 1, 3).reshape(N * idx.shape[0], C * K)  # im2col
    out = cols.dot(w.reshape(F, -1).T) + b
    out = out.reshape(N, idx.shape[0], F).transpose(0, 2, 1)
    return np.sum(dout * out)


def conv1d_grad(x, w, b, dout):
    N, C, L = x.shape
    F, _, K = w.shape
    idx = _windows(L, K)
    Lo = idx.shape[0]
    cols = x[:, :, idx].transpose(0, 2, 1, 3).reshape(N * Lo, C * K)
    dout2 = dout.transpose(0, 2, 1).reshape(N * Lo, F)
    dw = dout2.T.dot(cols).reshape(w.shape)
    db = np.sum(dout2, axis=0)
    dcols = dout2.dot(w.reshape(F, -1)).reshape(N, Lo, C, K).transpose(0, 2, 1, 3)
    dx = np.zeros_like(x)
    np.add.at(dx, (slice(None), slice(None), idx), dcols)  # col2im: overlapping windows add up
    return {"x": dx, "w": dw, "b": db}


# --- regression losses ---

def l2_loss(W, X, Y):
    N = X.shape[0]
    return np.sum((X.dot(W) - Y) ** 2) / N


def l2_grad(W, X, Y):
    N = X.shape[0]
    dW = 2 * X.T.dot(X.dot(W) - Y) / N
    return {"W": dW}


def huber_loss(W, X, Y):
    N = X.shape[0]
    r = X.dot(W) - Y
    small = np.abs(r) <= HUBER_DELTA
    return np.sum(np.where(small, 0.5 * r ** 2, HUBER_DELTA * (np.abs(r) - 0.5 * HUBER_DELTA))) / N


def huber_grad(W, X, Y):
    N = X.shape[0]
    r = X.dot(W) - Y
    dr = np.where(np.abs(r) <= HUBER_DELTA, r, HUBER_DELTA * np.sign(r)) / N
    return {"W": X.T.dot(dr)}


# --- seed 002, as its cells write them ---

def seed_task1_loss(x, w):
    """Task 1: f(x, w) = 1 / (1 + exp(-(w0 x + w1))), the cell's calculate_f."""
    return 1 / (1 + np.exp(-(x * w[0] + w[1])))


def seed_task1_grad(x, w):
    """Task 1's staged backward pass (df = 1, de = -1/e**2, ...)."""
    a = x * w[0]
    b = a + w[1]
    c = -1 * b
    d = np.exp(c)
    e = 1 + d
    de = -1 / e ** 2
    dd = de * 1
    dc = dd * np.exp(c)
    db = dc * -1
    da = db * 1
    dx = da * w[0]
    dw0 = da * x
    dw1 = db * 1
    return {"x": dx, "w": np.array([dw0, dw1])}


def seed_task2_loss(X, W, Y, lam):
    """Task 2: L = ||XW - Y||^2 + lam ||W||_1 (calculate_loss; np.abs: not holomorphic)."""
    pred = X.dot(W)
    pred_loss = np.sum((pred - Y) ** 2)
    reg_loss = np.sum(np.abs(W))
    loss = pred_loss + lam * reg_loss
    return loss


def seed_task2_grad(X, W, Y, lam):
    pred = X.dot(W)
    dloss = 1
    dreg_loss = lam * dloss
    dpred_loss = dloss
    dW1 = np.sign(W) * dreg_loss
    dpred = dpred_loss * 2 * (pred - Y)
    dW2 = X.T.dot(dpred)
    dW = dW1 + dW2
    return {"W": dW}


SEED_TASK3_Y = 1  # the cell's y = np.random.randint(0, 2) after np.random.seed(42)


def _relu(x):
    return np.maximum(x, 0)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def seed_task3_fprop(x, y, params):
    """Task 3's fprop, as the cell writes it (column vectors, W @ x)."""
    W1, b1, W2, b2 = [params[key] for key in ("W1", "b1", "W2", "b2")]
    z1 = np.dot(W1, x) + b1
    a1 = _relu(z1)
    z2 = np.dot(W2, a1) + b2
    a2 = _sigmoid(z2)
    loss = -(y * np.log(a2) + (1 - y) * np.log(1 - a2))
    ret = {"x": x, "y": y, "z1": z1, "a1": a1, "z2": z2, "a2": a2, "loss": loss}
    ret.update(params)
    return ret


def seed_task3_bprop(fprop_cache):
    x, y, z1, a1, z2, a2, loss = [fprop_cache[key] for key in ("x", "y", "z1", "a1", "z2", "a2", "loss")]
    dz2 = (a2 - y)
    dW2 = np.dot(dz2, a1.T)
    db2 = dz2
    da1 = np.dot(fprop_cache["W2"].T, dz2)
    dz1 = da1 * (z1 > 0)
    dW1 = np.dot(dz1, x.T)
    db1 = dz1
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def seed_task3_loss(W1, b1, W2, b2, x):
    """f over the parameters: the cell's fprop(...)['loss'], a (1, 1) array."""
    return seed_task3_fprop(x, SEED_TASK3_Y, {"W1": W1, "b1": b1, "W2": W2, "b2": b2})["loss"]


def seed_task3_grad(W1, b1, W2, b2, x):
    return seed_task3_bprop(seed_task3_fprop(x, SEED_TASK3_Y, {"W1": W1, "b1": b1, "W2": W2, "b2": b2}))


def seed_task4_softmax(x):
    """Task 4's softmax without the cell's `+ EPS` (with it, diag(s) - s sᵀ is only the Jacobian to ~1e-5)."""
    return np.exp(x) / np.sum(np.exp(x), axis=0, keepdims=True)


def seed_task4_grad(x):
    """Task 4's softmax_grad(softmax(x)): the Jacobian ds_i/dx_j = diag(s) - s sᵀ."""
    s = seed_task4_softmax(x).reshape(-1, 1)
    return np.diagflat(s) - np.dot(s, s.T)


# --- max-pool, embedding, a residual block (a fan-out) ---

def maxpool_loss(x, dout):
    """2x2 max-pool, stride 2, on (N, C, H, W) with no ties in a window."""
    N, C, H, W = x.shape
    out = x.reshape(N, C, H // 2, 2, W // 2, 2).max(axis=(3, 5))
    return np.sum(dout * out)


def maxpool_grad(x, dout):
    N, C, H, W = x.shape
    x_r = x.reshape(N, C, H // 2, 2, W // 2, 2)
    out = x_r.max(axis=(3, 5))
    mask = x_r == out[:, :, :, np.newaxis, :, np.newaxis]
    dx = (mask * dout[:, :, :, np.newaxis, :, np.newaxis]).reshape(x.shape)
    return {"x": dx}


def embedding_loss(W, idx, dout):
    """cs231n word_embedding_forward: out = W[idx], summed against dout."""
    return np.sum(dout * W[idx])


def embedding_grad(W, idx, dout):
    dW = np.zeros_like(W)
    for i, word in enumerate(idx):
        dW[word] += dout[i]  # a word used twice gets both rows
    return {"W": dW}


def residual_loss(x, w, dout):
    """out = x + tanh(x @ w): x fans out into the skip and the branch."""
    return np.sum(dout * (x + np.tanh(x.dot(w))))


def residual_grad(x, w, dout):
    h = np.tanh(x.dot(w))
    dh = dout * (1 - h ** 2)
    dx = dout.copy()  # the skip connection
    dx += dh.dot(w.T)  # the tanh branch
    dw = x.T.dot(dh)
    return {"x": dx, "w": dw}
