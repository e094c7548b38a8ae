# Seed 002, Task 2 (||XW - Y||^2 + lam*||W||_1), its cells In [10], In [4], In [5], In [9], In [6] pasted as
# written, but for one planted mistake: line 32 flips the sign of dW1 (the notebook writes np.sign(W) * dreg_loss).
np.random.seed(42 * 2)

X = np.random.randint(-4, 4, size=(3, 2))
W = np.random.randint(-4, 4, size=(2, 1))
Y = np.random.randint(-4, 4, size=(3, 1))
lam = 2 * (-1 if np.random.randint(2) == 0 else 1)

print('X = {}\n'
      'W = {}\n'
      'Y = {}\n'
      'lambda = {}\n'.
      format(X, W, Y, lam))

X = np.array([[0], [-2], [1]], dtype=float)
Y = np.array([[0, 1], [1, -1], [0, -2]], dtype=float)
W = np.array([[1, 1]], dtype=float)
lam = 1.0

pred = X.dot(W)
pred_loss = np.sum((pred - Y) ** 2)
reg_loss = np.sum(np.abs(W))
loss = pred_loss + lam * reg_loss
loss

np.sign(W)

dloss = 1
dreg_loss = lam * dloss
dpred_loss = dloss
dW1 = -np.sign(W) * dreg_loss

dpred = dpred_loss * 2 * (pred - Y)
dW2 = X.T.dot(dpred)

dW = dW1 + dW2
print(dW)
