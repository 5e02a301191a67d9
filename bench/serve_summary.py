"""Prints bench/serve_bench.sh's results (results.jsonl) as tables, with the peer ratios."""
import json, statistics, sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
by = {r["name"]: r for r in rows}
print("| run | requests/s | p50 ms | p99 ms | 5xx | mismatched | valid answers identical | 4xx | malformed sent | socket errors | RSS after warm-up -> max (growth) |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    if "rps" not in r:
        continue
    errors = sum(r["socket_errors"].values())
    rss = f'{r["rss_mib_after_warmup"]} -> {r["rss_mib_max"]} MiB ({r["rss_growth_pct"]:+.1f}%)' if "rss_mib_max" in r else "-"
    print(f'| {r["name"]} | {r["rps"]:.0f} | {r["p50_ms"]:.2f} | {r["p99_ms"]:.2f} | {r["status_5xx"]} | {r["mismatched"]} | '
          f'{r["ok_identical"]} | {r["status_4xx"]} | {r["sent_malformed"]} | {errors} | {rss} |')
for prefix, network in [("", "seed CNN"), ("deep-", "deep CNN")]:
    on, off = by.get(prefix + "batching-on"), by.get(prefix + "batching-off")
    if on and off:
        mean = by.get(prefix + "batching-on-batches", {}).get("mean_batch_size")
        print(f'\nDynamic batching, {network}: {on["rps"]:.0f} requests/s on vs {off["rps"]:.0f} off ({on["rps"] / off["rps"]:.2f}x); '
              f'p50 {on["p50_ms"]:.2f} vs {off["p50_ms"]:.2f} ms, p99 {on["p99_ms"]:.2f} vs {off["p99_ms"]:.2f} ms; mean batch {mean} samples')
rounds = sorted({int(n[len("peer-round"):]) for n in by if n.startswith("peer-round")})
if rounds:
    print("\n| round | Fovea requests/s | peer requests/s | ratio | Fovea p99 ms | peer p99 ms |")
    print("|---|---|---|---|---|---|")
    ratios, p99s = [], []
    for k in rounds:
        f, p = by.get(f"fovea-round{k}"), by[f"peer-round{k}"]
        if not f:
            continue
        ratios.append(f["rps"] / p["rps"]); p99s.append((f["p99_ms"], p["p99_ms"]))
        print(f'| {k} | {f["rps"]:.0f} | {p["rps"]:.0f} | {f["rps"] / p["rps"]:.2f}x | {f["p99_ms"]:.2f} | {p["p99_ms"]:.2f} |')
    print(f"\nMedian ratio over {len(ratios)} rounds: {statistics.median(ratios):.2f}x requests/s; "
          f"p99 Fovea {statistics.median(a for a, _ in p99s):.2f} ms vs peer {statistics.median(b for _, b in p99s):.2f} ms")
if "versions-and-shutdown" in by:
    v = by["versions-and-shutdown"]
    print(f'\nNew version served {v["new_version_ready_s"]} s after it was dropped in; broken version 3: '
          f'{json.dumps(v["broken_version_status"])}; default version meanwhile: {v["default_version_while_3_broken"]}; '
          f'exit code after SIGTERM under load: {v["sigterm_exit_code"]}, requests in flight at SIGTERM answered 200: '
          f'{v.get("inflight_answered_200_of_32")} of 32')
