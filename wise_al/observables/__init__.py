"""Observables of MD trajectories to judge a potential against experiment.

One module per observable, each a pure function of frames (ASE ``Atoms``): density,
partial radial distribution functions, Li–O coordination split by oxygen class, Li–Li
contacts, and block averages to see whether a run was long enough.
"""
