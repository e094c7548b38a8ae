"""The numerical references: finite differences and the complex step per element (differences.py), and random
directions with bisection past the element limit (directions.py). Each estimate comes with its error estimate;
the judge (verdict.py) decides what they say."""
