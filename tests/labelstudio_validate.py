"""Run inside Label Studio's own venv: validate labelling configs with its own validator.

``python tests/labelstudio_validate.py CONFIG.xml ...`` prints ``valid PATH`` per config and
exits 1 at the first one Label Studio refuses (its message on stdout).
"""

import os
import sys
from pathlib import Path

import label_studio  # type: ignore[import-not-found]  # its own venv

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings.label_studio")
sys.path.insert(0, str(Path(label_studio.__file__).parent))

import django  # type: ignore[import-not-found]

django.setup()

from core.label_config import validate_label_config  # type: ignore[import-not-found]  # noqa: E402

for name in sys.argv[1:]:
    try:
        validate_label_config(Path(name).read_text(encoding="utf-8"))
    except Exception as exc:  # Label Studio's ValidationError
        print(f"refused {name}: {exc}")
        sys.exit(1)
    print(f"valid {name}")
