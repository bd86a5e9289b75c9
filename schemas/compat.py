"""Schema evolution checks: can a reader on the new schema read what the old one wrote?"""

from __future__ import annotations

import io
from typing import Any

from fastavro import schemaless_reader, schemaless_writer
from fastavro.utils import generate_many


def backward_compatible(old: Any, new: Any, samples: int = 200) -> tuple[bool, str]:
    """Write random data with `old`, read it with `new` (Avro schema resolution).

    A new required field without a default, a removed union branch, a changed type:
    each makes resolution fail on the old data.
    """
    for record in generate_many(old, samples):
        buf = io.BytesIO()
        schemaless_writer(buf, old, record)
        buf.seek(0)
        try:
            schemaless_reader(buf, old, new)
        except Exception as exc:  # fastavro raises SchemaResolutionError and friends
            return False, f"{type(exc).__name__}: {exc}"
    return True, ""
