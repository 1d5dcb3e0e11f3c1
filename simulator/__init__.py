"""Standalone Polymarket simulator (Gamma REST, CLOB REST, CLOB market WS, sports WS).

Run with ``python -m simulator --port 8765 --seed 1``; see ``simulator/README.md``.
Nothing in this package imports Django: it runs as its own process in tests and in dev.
"""

__all__ = ["__version__"]

__version__ = "1.0.0"
