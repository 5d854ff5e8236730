#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Read a Prometheus text exposition (format 0.0.4) on stdin the strict way
for tests/test_metrics.c, and print what it holds as one JSON object:

  {"types": {METRIC: TYPE}, "samples": {"METRIC|k=v,k=v": VALUE}}

(labels sorted by name, values unescaped). The page goes through two
readers that must agree: prometheus_client's parser
(text_string_to_metric_families, Debian's python3-prometheus-client) and
the line grammar of the format written out below, which also refuses what
the parser lets by: a family whose # HELP or # TYPE is missing or repeated,
a family seen twice, a sample before its family's # TYPE or of no family,
a repeated sample or label, a bad label escape, a counter below zero, a
blank or unknown comment line, no newline at the end.

Exit 0 with the JSON, 1 with the first fault on stderr, 77 when
prometheus_client is not installed (the test is then skipped).
"""
import json
import math
import re
import sys

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    print("python3 module prometheus_client missing (Debian: python3-prometheus-client)",
          file=sys.stderr)
    sys.exit(77)

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"'
VALUE = r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[-+]?Inf|NaN"
SAMPLE = re.compile(r"(%s)(?:\{((?:%s)(?:,%s)*)?\})? (%s)(?: -?[0-9]+)?" % (NAME, LABEL, LABEL, VALUE))
HELP = re.compile(r"# HELP (%s) ((?:[^\\\n]|\\[\\n])*)" % NAME)
TYPE = re.compile(r"# TYPE (%s) (counter|gauge|histogram|summary|untyped)" % NAME)
TYPES = {"counter", "gauge", "untyped"}  # tend writes no histogram nor summary


def fail(lineno, msg, line=""):
    print("line %d: %s%s" % (lineno, msg, (": " + repr(line)) if line else ""), file=sys.stderr)
    sys.exit(1)


def unescape(v):
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), v)


def key(name, labels):
    return name + "|" + ",".join("%s=%s" % kv for kv in sorted(labels.items()))


def by_grammar(text):
    """The page line by line: {"types", "samples"} or a fault."""
    if text and not text.endswith("\n"):
        fail(text.count("\n") + 1, "no newline at the end of the page")
    helps, types, samples = {}, {}, {}
    current, done = None, set()
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if line.startswith("#"):
            m = HELP.fullmatch(line) or TYPE.fullmatch(line)
            if m is None:
                fail(n, "a comment that is neither # HELP nor # TYPE", line)
            name, seen = m.group(1), helps if line.startswith("# HELP") else types
            if name in seen:
                fail(n, "second %s line for %s" % (line.split()[1], name), line)
            if name in done or (name != current and (name in helps or name in types)):
                fail(n, "family %s seen twice" % name, line)
            if current is not None and current != name:
                done.add(current)
            current = name
            seen[name] = m.group(2)
            continue
        m = SAMPLE.fullmatch(line)
        if m is None:
            fail(n, "not a sample line of the format", line)
        name = m.group(1)
        if name not in types:
            fail(n, "sample of %s before (or without) its # TYPE" % name, line)
        if name != current:
            fail(n, "sample of %s in the middle of family %s" % (name, current), line)
        labels = {}
        for lm in re.finditer(LABEL, m.group(2) or ""):
            if lm.group(1) in labels:
                fail(n, "label %s twice" % lm.group(1), line)
            labels[lm.group(1)] = unescape(lm.group(2))
        value = float(m.group(m.lastindex))
        if types[name] not in TYPES:
            fail(n, "type %s" % types[name], line)
        if types[name] == "counter" and not (value >= 0 and math.isfinite(value)):
            fail(n, "counter not a finite number >= 0", line)
        k = key(name, labels)
        if k in samples:
            fail(n, "the same sample twice", line)
        samples[k] = value
    for name in types:
        if name not in helps:
            fail(0, "no # HELP for %s" % name)
    for name in helps:
        if name not in types:
            fail(0, "no # TYPE for %s" % name)
    return {"types": types, "samples": samples}


def by_parser(text):
    """The page as prometheus_client reads it, in the same shape."""
    types, samples = {}, {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            k = key(s.name, s.labels)
            if k in samples:
                fail(0, "prometheus_client: the same sample twice: " + k)
            samples[k] = s.value
            # 0.0.4 names a counter family with its _total; the parser
            # drops it from the family's name, not from the samples'.
            types[s.name] = fam.type
        if not fam.samples:
            types[fam.name + ("_total" if fam.type == "counter" else "")] = fam.type
    return {"types": types, "samples": samples}


def main():
    raw = sys.stdin.buffer.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        fail(raw[: e.start].count(b"\n") + 1, "not UTF-8")
    mine = by_grammar(text)
    try:
        theirs = by_parser(text)
    except Exception as e:  # the parser raises ValueError and others
        fail(0, "prometheus_client refused the page: %r" % e)
    if mine != theirs:
        only = lambda a, b: sorted(set(a.items()) ^ set(b.items()))[:10]
        fail(0, "prometheus_client read something else: types %s samples %s"
             % (only(mine["types"], theirs["types"]), only(mine["samples"], theirs["samples"])))
    json.dump(mine, sys.stdout, sort_keys=True)
    print()


main()
