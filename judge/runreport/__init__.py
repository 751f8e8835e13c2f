"""``judge report``: a training run's reward logs as one self-contained HTML page.

Tooling (never shipped in the Lambda). One module per step: ``read`` (``--details`` files
or the function's CloudWatch Logs into per-batch records), ``compute`` (per-window figures
and the thresholds that flag a hack starting), ``plot`` (matplotlib PNGs, inlined) and
``write`` (the page, every string from the data escaped).
"""

from __future__ import annotations
