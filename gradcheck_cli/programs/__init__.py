"""A pasted forward/backward cell: what each statement is (plan.py), each d-line judged and a wrong one explained
(judge.py), each user gate's rule audited (audit.py), and the whole check of one program (check.py)."""
