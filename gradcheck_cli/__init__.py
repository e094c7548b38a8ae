"""gradcheck: check hand-derived gradients. The Python API (imports nothing heavy until used):

    from gradcheck_cli import check, check_function
"""

__all__ = ["check", "check_function", "Report", "GradientCheckFailed"]


def __getattr__(name: str):
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'gradcheck_cli' has no attribute {name!r}")
