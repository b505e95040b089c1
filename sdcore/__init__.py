"""System Design Sandbox engine.

Pure Python + numpy (plus mmh3 and networkx): no Streamlit here, so everything works the same from a
notebook, a script or the app. One sub-package per concept; plotly figure builders live in
``sdcore.charts``.
"""
