#!/usr/bin/env python3
"""An independent reading of Prometheus text files, for tests/versions.rs: each file's samples
summed by sample name, parsed by prometheus_client (the library LMCache itself exports with).

    prom_reference.py FILE...   prints {"FILE": {"sample_name": sum, ...}, ...} as JSON
"""

import json
import sys

from prometheus_client.parser import text_string_to_metric_families


def sums(path):
    out = {}
    with open(path, encoding="utf-8") as f:
        for family in text_string_to_metric_families(f.read()):
            for s in family.samples:
                out[s.name] = out.get(s.name, 0.0) + s.value
    return out


print(json.dumps({p: sums(p) for p in sys.argv[1:]}))
