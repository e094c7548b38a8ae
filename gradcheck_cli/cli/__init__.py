"""The command line: the `gradcheck` group (main.py), one module per command (eval, sweep, check, function, layer),
and how options are read and validated (options.py, whose ranges the Python API uses too)."""
