#!/usr/bin/env python3
"""A minimal OTLP/gRPC receiver on loopback that writes the spans it is sent to files.

Run with the Python of an environment that has `grpcio` and `opentelemetry-proto` (LMCache's
does: `lmcache server --enable-tracing --otlp-endpoint` needs them). It answers the trace and
metrics services (metrics are accepted and dropped) and writes each trace export request, as
it arrived, in the two JSON forms protobuf's own `json_format` gives:

- OUT/spans.proto.jsonl: the proto field names (`resource_spans`, `scope_spans`,
  `string_value`), one request per line: what the Python SDK's and several file exporters'
  JSON looks like;
- OUT/spans.camel.jsonl: lowerCamelCase (`resourceSpans`), 64-bit integers as strings.

Both encode trace and span ids as base64, as protobuf JSON does (OTLP/JSON proper uses hex).

    otlp-capture.py --port 4317 --out DIR [--seconds N]
"""

import argparse
import os
import threading
import time
from concurrent import futures


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=4317)
    p.add_argument("--out", required=True)
    p.add_argument("--seconds", type=float, default=0, help="stop after N seconds (0: never)")
    a = p.parse_args()

    import grpc
    from google.protobuf import json_format
    from opentelemetry.proto.collector.metrics.v1 import (
        metrics_service_pb2,
        metrics_service_pb2_grpc,
    )
    from opentelemetry.proto.collector.trace.v1 import (
        trace_service_pb2,
        trace_service_pb2_grpc,
    )

    os.makedirs(a.out, exist_ok=True)
    lock = threading.Lock()
    snake = open(os.path.join(a.out, "spans.proto.jsonl"), "a")
    camel = open(os.path.join(a.out, "spans.camel.jsonl"), "a")
    counts = {"requests": 0, "spans": 0}

    class Traces(trace_service_pb2_grpc.TraceServiceServicer):
        def Export(self, request, context):
            n = sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
            with lock:
                snake.write(
                    json_format.MessageToJson(request, preserving_proto_field_name=True, indent=None)
                    + "\n"
                )
                camel.write(json_format.MessageToJson(request, indent=None) + "\n")
                snake.flush()
                camel.flush()
                counts["requests"] += 1
                counts["spans"] += n
            return trace_service_pb2.ExportTraceServiceResponse()

    class Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
        def Export(self, request, context):
            return metrics_service_pb2.ExportMetricsServiceResponse()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Traces(), server)
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(Metrics(), server)
    server.add_insecure_port(f"127.0.0.1:{a.port}")
    server.start()
    print(f"OTLP/gRPC receiver on 127.0.0.1:{a.port}, writing to {a.out}", flush=True)
    try:
        start = time.time()
        while a.seconds <= 0 or time.time() - start < a.seconds:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    server.stop(2)
    print(f"received {counts['requests']} requests, {counts['spans']} spans", flush=True)


if __name__ == "__main__":
    main()
