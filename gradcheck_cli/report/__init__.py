"""Results for people and for machines: the one set of formatters (text.py), the rich tables (table.py, with a
program's line table in program_table.py), plain text (plain.py), JSON (json.py), JUnit and GitHub annotations
(ci.py), reports streamed as cases arrive (stream.py), the circuit picture (dot.py), the sweep (sweep.py), and the
one registry of formats the commands offer (formats.py). Nothing here computes a verdict: it shows CaseResults.
"""
