"""Pictures of runs and scores: overlays per test item (`views`; `drawing` writes a run's as PNGs), drawing
primitives (`render`) and matplotlib plots of precision-recall curves and confusion matrices (`plots`).

Kept apart from the task definitions and models: nothing there imports this package.
"""
