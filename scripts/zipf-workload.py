#!/usr/bin/env python3
"""A skewed, prefix-sharing workload for a real LMCache MP server, for capacity curves.

Run with the Python of an environment where `lmcache` is installed (scripts/real-lmcache.sh
runs it with WORKLOAD=zipf). It drives the server through LMCache's own bench client (the
`lmcache bench server` classes: the same lookups, stores and retrieves), but chooses what each
request asks for:

- GROUPS shared prefixes of PREFIX_CHUNKS chunks (a system prompt, a document), each followed
  by one of SUFFIXES suffixes of SUFFIX_CHUNKS chunks (the question);
- the prefix, and the suffix within it, drawn with Zipf(ALPHA) popularity from a fixed seed,
  so every run sends the same REQUESTS requests in the same order, whatever the L1 size.

Each request looks up its chunks, retrieves the hit prefix, stores the rest and ends its
session, as the bench client's baseline does (without its checksums).
"""

import argparse
import random
import sys
import time


def zipf_weights(n, alpha):
    return [1.0 / (k + 1) ** alpha for k in range(n)]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rpc-url", required=True)
    p.add_argument("--url", required=True)
    p.add_argument("--requests", type=int, default=1500)
    p.add_argument("--groups", type=int, default=40)
    p.add_argument("--suffixes", type=int, default=15)
    p.add_argument("--prefix-chunks", type=int, default=2)
    p.add_argument("--suffix-chunks", type=int, default=2)
    p.add_argument("--alpha", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--interval", type=float, default=0.02)
    # Four layers of 8 heads of 128: 4 MiB chunks of 256 tokens, so that a few GiB of L1
    # hold hundreds of chunks.
    p.add_argument("--kvcache-shape-spec", default="(2,1024,16,8,128):float16:4")
    a = p.parse_args()

    from lmcache.cli.commands.bench.server_bench.client import (
        RequestContext,
        ServerBenchClient,
    )
    from lmcache.cli.commands.bench.server_bench.config import BenchConfig

    config = BenchConfig(
        rpc_url=a.rpc_url,
        http_url=a.url,
        mode="cpu",
        transfer_mode="auto",
        tp_size=1,
        use_mla=False,
        num_tokens=(a.prefix_chunks + a.suffix_chunks) * 256,
        kvcache_shape_spec=a.kvcache_shape_spec,
        num_blocks=1024,
        block_size=16,
    )
    client = ServerBenchClient(config, lambda _msg: None)
    client.start()
    chunk = client._chunk_size
    rng = random.Random(a.seed)
    groups = zipf_weights(a.groups, a.alpha)
    suffixes = zipf_weights(a.suffixes, a.alpha)
    hello = 9906
    hits = looked = 0
    try:
        for n in range(a.requests):
            g = rng.choices(range(a.groups), groups)[0]
            s = rng.choices(range(a.suffixes), suffixes)[0]
            # Token 0 of the prefix names the group, token 0 of the suffix the question:
            # chunks after the first differing token hash differently (LMCache chains them).
            prefix = (1_000_000 + g,) + (hello,) * (a.prefix_chunks * chunk - 1)
            suffix = (2_000_000 + g * a.suffixes + s,) + (hello,) * (a.suffix_chunks * chunk - 1)
            tokens = prefix + suffix
            full = (len(tokens) // chunk) * chunk
            blocks = full // 16
            req = RequestContext(
                sequence_id=n,
                request_id=f"zipf-{n}-g{g}-s{s}",
                request_kind="zipf",
                token_ids=tokens,
                num_full_tokens=full,
                total_chunks=full // chunk,
                chunk_size=chunk,
                block_offset=(n * blocks) % max(1024 - blocks, 1),
                num_blocks=blocks,
            )
            lookup = client.lookup(req)
            if not lookup.succeeded:
                print(f"request {n}: lookup failed: {lookup.error}", file=sys.stderr)
                continue
            hit = lookup.hit_chunks * chunk
            hits += lookup.hit_chunks
            looked += req.total_chunks
            client.retrieve(req, start_token=0, token_count=hit)
            client.store(req, start_token=hit, token_count=full - hit)
            client.end_session(req)
            if n % 100 == 0:
                print(f"{n} requests, chunk hit rate so far {hits / max(looked, 1):.3f}", flush=True)
            time.sleep(a.interval)
    finally:
        client.close()
    print(f"done: {a.requests} requests, chunk hit rate {hits / max(looked, 1):.3f}")


if __name__ == "__main__":
    main()
