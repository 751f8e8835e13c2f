"""The one S3 location pattern: batch jobs parse it and the local control plane checks it."""

from __future__ import annotations

import re

# A bucket name as S3 names them (3-63 characters, lower case, digits, '-' and '.'), then an
# optional key or prefix.
S3_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][-.a-z0-9]{1,61}[a-z0-9])(?:/(?P<key>.*))?$")
