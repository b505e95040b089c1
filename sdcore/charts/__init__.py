"""Plotly figure builders: data in, ``go.Figure`` out. One module per concept.

plotly is imported only in this sub-package, so ``import sdcore.hashing`` stays light.
"""
