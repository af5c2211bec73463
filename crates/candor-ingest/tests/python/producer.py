"""A producer in another language: writes Candor events from the published JSON Schema alone
(docs/schema/event.schema.json) and posts them to a receiving end.

Usage: producer.py SCHEMA URL REVISION

It uses nothing of Candor's code: the field names, the value kinds and their data come from the
schema and the catalogue's documentation. Each payload is checked against the schema's
structure here first (fields, required fields, the value kinds it lists), so what is posted is
what the schema says, and the payload meant to be refused is refused by the schema too.
Prints one JSON line per request: {"batch", "status", "reply", "schema_ok"}.
"""

import datetime
import gzip
import hashlib
import json
import math
import secrets
import sys
import urllib.error
import urllib.request


def now_rfc3339():
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + "%06dZ" % now.microsecond


def event(revision, point, kind, data, line=("core", "4.0.0")):
    return {
        "event_id": secrets.token_hex(16),
        "time": now_rfc3339(),
        "product": "contrast-dotnet-agent",
        "product_version": line[1],
        "runtime_line": line[0],
        "catalogue_revision": revision,
        "point": point,
        "value": {"kind": kind, "data": data},
    }


def schema_admits(schema, item):
    """The schema's structure: no field it does not list, every field it requires, a value
    kind from its list, and counts that are whole and not negative."""
    properties = schema["properties"]
    if any(key not in properties for key in item):
        return False
    if any(key not in item for key in schema["required"]):
        return False
    kinds = {
        variant["properties"]["kind"]["const"]
        for variant in schema["$defs"]["Value"]["oneOf"]
    }
    value = item["value"]
    if set(value) != {"kind", "data"} or value["kind"] not in kinds:
        return False
    if value["kind"] == "count" and not (isinstance(value["data"], int) and value["data"] >= 0):
        return False
    return True


def histogram(measurements, per_octave=8):
    """Bucket counts as the schema's HistogramValue describes them: key floor(n * log2 x)."""
    buckets = {}
    for x in measurements:
        key = math.floor(per_octave * math.log2(x))
        buckets[key] = buckets.get(key, 0) + 1
    return {
        "count": len(measurements),
        "sum": float(sum(measurements)),
        "buckets": [[k, buckets[k]] for k in sorted(buckets)],
    }


def post(url, body, encoding=None):
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("content-type", "application/json")
    if encoding:
        request.add_header("content-encoding", encoding)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as refused:
        text = refused.read().decode("utf-8", "replace")
        try:
            return refused.code, json.loads(text)
        except ValueError:
            return refused.code, text


def main():
    schema_path, url, revision = sys.argv[1:4]
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)

    every_kind = [
        event(revision, "working_set", "count", 52428800),
        event(revision, "assess_enabled", "flag", True),
        event(revision, "contrast_instance", "enumeration", "hosted"),
        event(revision, "agent_version", "version", "4.0.0"),
        event(revision, "os_version", "text", "Alpine Linux v3.19"),
        event(revision, "process_running_time", "duration", 812.5),
        event(
            revision,
            "machine_id",
            "hashed",
            hashlib.sha256(b"python producer machine").hexdigest(),
        ),
        event(revision, "non_default_setting_names", "names", ["AgentEnabled", "LogLevel"]),
        event(revision, "contrast_http_status_codes", "label_counts", {"200": 41, "404": 2}),
        event(revision, "contrast_http_response_time", "histogram", histogram([2.0, 10.0, 10.5])),
        event(
            revision,
            "iis_apps_per_pool",
            "distribution",
            {"min": 1.0, "max": 4.0, "median": 2.0},
            line=("framework", "21.1.2"),
        ),
        event(revision, "protect_rule_modes", "mode_by_name", {"sql-injection": "block"}),
        event(
            revision,
            "sensor_exceptions",
            "exception",
            {
                "type_name": "System.TimeoutException",
                "message": "the sensor took too long",
                "frames": ["at Contrast.Sensors.Start()"],
                "frames_dropped": 1,
                "log_message": "continuing without the sensor",
            },
        ),
    ]
    # A second producer habit: gzip, and `install_id` written out as null (the schema allows
    # it for a catalogue without install ids).
    gzipped = [event(revision, "working_set", "count", 1024)]
    gzipped[0]["install_id"] = None
    # What the schema refuses: a field it does not list, and a count below zero.
    refused = [event(revision, "working_set", "count", 7), event(revision, "working_set", "count", -1)]
    refused[0]["client_ip"] = "203.0.113.9"

    batches = [
        ("every_kind", every_kind, None),
        ("gzip", gzipped, "gzip"),
        ("refused", refused, None),
    ]
    for name, items, encoding in batches:
        body = json.dumps(items).encode("utf-8")
        if encoding == "gzip":
            body = gzip.compress(body)
        status, reply = post(url, body, encoding)
        line = {
            "batch": name,
            "status": status,
            "reply": reply,
            "schema_ok": [schema_admits(schema, item) for item in items],
        }
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
