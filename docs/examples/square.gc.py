# f = (x*y)**2, forward then backward (polynomial: every digit is the same on every machine)
x = 3.0; y = -4.0
q = x * y
f = q * q
dq = 2 * q
dx = y * dq
dy = x * dq
