# Karpathy's "Hacker's guide": the 2-layer net (3 relu neurons), one example, with the backward pass.
# The guide's loop writes `dna = a4 * dscore` (a typo for dn1) and masks in place (`if n1 == 0: dn1 = 0`);
# here each relu has its pre-activation z named, so dz1 = dn1 * (z1 > 0) is df/dz1.
a1 = 0.1; b1 = -0.3; c1 = 0.2
a2 = -0.4; b2 = 0.25; c2 = 0.1
a3 = 0.3; b3 = 0.2; c3 = -0.05
a4 = 0.5; b4 = -0.6; c4 = 0.7; d4 = 0.1
x = 1.2; y = 0.7

z1 = a1*x + b1*y + c1
z2 = a2*x + b2*y + c2
z3 = a3*x + b3*y + c3
n1 = max(0, z1)
n2 = max(0, z2)
n3 = max(0, z3)
score = a4*n1 + b4*n2 + c4*n3 + d4

# backprop through the last "score" neuron
dscore = 1
da4 = n1 * dscore
dn1 = a4 * dscore
db4 = n2 * dscore
dn2 = b4 * dscore
dc4 = n3 * dscore
dn3 = c4 * dscore
dd4 = 1.0 * dscore
# backprop the ReLU non-linearities
dz1 = dn1 * (z1 > 0)
dz2 = dn2 * (z2 > 0)
dz3 = dn3 * (z3 > 0)
# backprop to neuron 1, 2, 3
da1 = x * dz1; db1 = y * dz1; dc1 = 1.0 * dz1
da2 = x * dz2; db2 = y * dz2; dc2 = 1.0 * dz2
da3 = x * dz3; db3 = y * dz3; dc3 = 1.0 * dz3
dx = a1 * dz1 + a2 * dz2 + a3 * dz3
dy = b1 * dz1 + b2 * dz2 + b3 * dz3
