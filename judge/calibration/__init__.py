"""Calibration: measure a judge against human-labelled anchors and map it onto their scale.

``maps`` and ``artefact`` are used by the Lambda and stay pure Python; fitting, statistics
and reports (numpy, scipy, matplotlib) live in the other modules and are only imported by
``judge calibrate``.
"""
