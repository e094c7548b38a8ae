# 10,100 elements, more than are checked one by one: random directions, then bisection.
# The gate's rule is wrong only where t > 3 (a handful of the 10,100 draws).
def square(t) = t**2
d square/dt = 2*t + (t > 3)

np.random.seed(0)
x = np.random.randn(101, 100)
f = sum(square(x))
