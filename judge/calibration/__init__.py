"""Calibration: measure a judge against human-labelled anchors and map it onto their scale.

Tooling only (``judge calibrate``): fitting, statistics and reports (numpy, scipy,
matplotlib). What the Lambda applies, the maps and the artefact check, is runtime:
``judge/maps.py`` and ``judge/artefact.py``.
"""
