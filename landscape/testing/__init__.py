"""Testing helpers for landscape and for code built on it.

``landscape.testing.strategies`` holds public hypothesis strategies (it needs the
``hypothesis`` package, installed with the ``test`` extra).
"""
