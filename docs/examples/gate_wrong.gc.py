# A gate with a wrong derivative rule: the derivative of softplus is sigma(t), not exp(t).
def softplus(t) = log(1 + exp(t))
d softplus/dt = exp(t)

x = 0.5
w = 2.0
f = softplus(w * x)
