#!/usr/bin/env python3
"""Print the Prometheus names an LMCache release's source declares.

    scripts/lmcache-wheel-names.py DIR

DIR holds an unpacked LMCache wheel (the `lmcache/` package). Every metric the package's
Python source creates with a literal name is printed once, as `/metrics` would expose it, in
kvscope's catalog convention (counters without `_total`, histograms without `_bucket`):

    <name>\t<kind>\t<file>

Two ways of declaring metrics occur across releases:
- prometheus_client objects (`Counter("lmcache:...")`, or an LMCache helper
  `create_counter("lmcache_mp:...", doc, labels)`), exposed under the name as written;
- OpenTelemetry instruments (`meter.create_counter("lmcache_mp.x", unit="tokens")`), exposed
  by the OpenTelemetry Prometheus exporter: characters other than letters, digits and `:`
  become `_`, and the mapped unit is appended unless the name already ends with it.

Names built at run time (f-strings) are printed with `{...}` in place of the parts not known.
Used to take each release's names from its wheel when that release is not run for real; the
real runs check the output (fixtures/README.md).
"""

import ast
import pathlib
import re
import sys

KINDS = {
    "Counter": "counter",
    "Gauge": "gauge",
    "Histogram": "histogram",
    "Summary": "summary",
    "create_counter": "counter",
    "create_up_down_counter": "gauge",
    "create_gauge": "gauge",
    "create_histogram": "histogram",
    "create_observable_gauge": "gauge",
    "create_observable_counter": "counter",
    "create_observable_up_down_counter": "gauge",
    # LMCache's own wrapper: register_gauge(meter_name, gauge_name, description, func)
    "register_gauge": "gauge",
}
# Where the name is, for calls that do not take it first.
NAME_AT = {"register_gauge": 1}

# The OpenTelemetry Prometheus exporter's unit words (its `map_unit`), for the units LMCache uses
# and the common ones.
UNITS = {
    "s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds",
    "By": "bytes", "KiBy": "kibibytes", "MiBy": "mebibytes", "GiBy": "gibibytes",
    "1": "", "%": "percent",
}
PER = {"s": "second", "m": "minute", "h": "hour", "d": "day"}


def sanitize(name):
    # `{...}` (a part known only at run time) is kept as it is.
    return "{...}".join(re.sub(r"[^a-zA-Z0-9:]+", "_", p) for p in name.split("{...}"))


def unit_word(unit):
    unit = re.sub(r"{.*}", "", unit)
    if unit in UNITS:
        return UNITS[unit]
    if "/" in unit:
        top, bottom = unit.split("/", 1)
        top = UNITS.get(sanitize(top), sanitize(top))
        bottom = PER.get(sanitize(bottom), sanitize(bottom))
        return f"{top}_per_{bottom}" if top else f"per_{bottom}"
    return sanitize(unit).strip("_")


def wrapper_kind(fname):
    """A local wrapper such as `_gauge = partial(register_gauge, meter)`, named for its kind."""
    for word in ("gauge", "counter", "histogram"):
        if fname and word in fname.lower():
            return word
    return None


def literal(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            v.value if isinstance(v, ast.Constant) else "{...}" for v in node.values
        )
    return None


def exposed(name, kind, unit, otel):
    if not otel:
        return name
    name = sanitize(name)
    word = unit_word(unit) if unit else ""
    if word and not name.endswith("_" + word):
        name = f"{name}_{word}"
    return name


def declared(path):
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError):
        return
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        fname = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        kind = KINDS.get(fname) or wrapper_kind(fname)
        if kind is None:
            continue
        args = {k.arg: k.value for k in node.keywords}
        at = NAME_AT.get(fname, 0)
        first = node.args[at] if len(node.args) > at else args.get("name")
        name = literal(first) if first is not None else None
        if not name or not name.startswith(("lmcache", "vllm", "sglang")):
            continue
        unit = literal(args["unit"]) if "unit" in args else None
        otel = fname != fname.title() and "." in name and ":" not in name
        name = exposed(name, kind, unit, otel)
        if kind == "counter":
            name = name.removesuffix("_total")
        yield name, kind


def main():
    root = pathlib.Path(sys.argv[1])
    seen = {}
    for path in sorted(root.rglob("*.py")):
        for name, kind in declared(path):
            seen.setdefault(name, (kind, str(path.relative_to(root))))
    for name in sorted(seen):
        kind, where = seen[name]
        print(f"{name}\t{kind}\t{where}")


if __name__ == "__main__":
    main()
