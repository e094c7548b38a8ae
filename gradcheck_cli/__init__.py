"""gradcheck: check hand-derived gradients. The Python API (imports nothing heavy until used):

    from gradcheck_cli import check, check_function, check_layer

In Jupyter, `%load_ext gradcheck_cli` registers the magics (notebook.py).
"""

__all__ = ["check", "check_function", "check_layer", "Report", "GradientCheckFailed"]


def __getattr__(name: str):
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'gradcheck_cli' has no attribute {name!r}")


def load_ipython_extension(ipython) -> None:
    """`%load_ext gradcheck_cli`: IPython (and the magics) are imported only here."""
    from .notebook import register

    register(ipython)
