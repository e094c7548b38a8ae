"""The expression route: a graph and its points through every column to the judge (check.py), the messages that
say why a point cannot be checked or where a kink is (problems.py), and `gradcheck sweep`'s numbers (sweep.py)."""
