"""The user's own numpy code: f against its gradient (check.py), forward/backward pairs with a cache as cs231n
writes them (layer.py, with their inputs and default points), and importing the user's module (user_code.py)."""
