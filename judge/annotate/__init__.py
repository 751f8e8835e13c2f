"""The human-label loop: choose items to label, hand them to Label Studio, bring labels back.

Tooling, never shipped in the Lambda zip. ``select`` picks items (disagreement, uncertainty,
gate thresholds and a random share), ``studio`` writes Label Studio tasks and a labelling
config from a rubric, ``ingest`` turns Label Studio's JSON export into anchors (with each
label's annotator, time and rubric version), ``agreement`` measures it, ``status`` sums up.
"""
