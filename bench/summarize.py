"""Summarises bench/compare.sh's JSON lines: the median over rounds of each figure, and Fovea's ratio to the
fastest peer (for training: Keras or PyTorch; for inference: Keras, PyTorch or onnxruntime).

usage: python3 summarize.py RESULTS.jsonl      (standard library only)
"""
import json, statistics, sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
PEERS = ["keras", "torch", "onnxruntime"]


def med(source, model, key):
    vals = [r[key] for r in rows if r.get("source") == source and r.get("model") == model and r.get(key) is not None]
    return (statistics.median(vals), len(vals)) if vals else (None, 0)


def fovea_key(key):
    return {"train_images_per_second": "trainImagesPerSecond", "inference_images_per_second": "inferenceImagesPerSecond",
            "single_image_milliseconds": "singleImageMilliseconds"}[key]


ceiling = next((r for r in rows if r.get("source") == "ceiling"), None)
if ceiling:
    c = ceiling.get("fma_ceiling_gflops", {})
    print(f"CPU: {ceiling.get('cpuModel', '?')}, kernel path {ceiling.get('kernelPath', '?')}; "
          f"FMA ceiling {c.get('one_thread', 0):.1f} GFLOP/s (1 thread), {c.get('all_threads', 0):.1f} (all threads)")
rounds = max((r.get("round", 0) for r in rows), default=0)
print(f"median of {rounds} rounds; ratio = Fovea / fastest peer (latency: fastest peer / Fovea), > 1 means Fovea is ahead\n")
print(f"| figure | Fovea | Keras 3 | PyTorch | onnxruntime | ratio to fastest peer |")
print(f"| --- | --- | --- | --- | --- | --- |")
figures = [("train_images_per_second", "training img/s (batch 64)", ["keras", "torch"], True),
           ("inference_images_per_second", "inference img/s (batch 256)", PEERS, True),
           ("single_image_milliseconds", "single image ms", PEERS, False)]
for model in ["seed-cnn", "deep-cnn"]:
    for key, label, peers, higher_better in figures:
        f, _ = med("fovea", model, fovea_key(key))
        peer_vals = {p: med(p, model, key)[0] for p in PEERS}
        valid = {p: v for p, v in peer_vals.items() if p in peers and v is not None}
        fmt = (lambda v: "—" if v is None else (f"{v:,.0f}" if higher_better else f"{v:.3f}"))
        ratio = "—"
        if f is not None and valid:
            best = max(valid, key=valid.get) if higher_better else min(valid, key=valid.get)
            r = f / valid[best] if higher_better else valid[best] / f
            ratio = f"**{r:.2f}×** (vs {best})"
        print(f"| {model} {label} | {fmt(f)} | {fmt(peer_vals['keras'])} | {fmt(peer_vals['torch'])} | "
              f"{fmt(peer_vals['onnxruntime'])} | {ratio} |")
fg = [r["gflops"] for r in rows if r.get("source") == "fovea-gemm"]
ng = [r["gflops"] for r in rows if r.get("source") == "numpy-gemm"]
if fg and ng:
    f, n = statistics.median(fg), statistics.median(ng)
    print(f"| SGEMM 1024³ GFLOP/s | {f:.1f} | NumPy/OpenBLAS {n:.1f} | | | **{f / n:.2f}×** (vs NumPy) |")
rec = {r["source"]: r for r in rows if r.get("source", "").endswith("-recipe")}
if "fovea-recipe" in rec and "keras-recipe" in rec:
    f, k = rec["fovea-recipe"], rec["keras-recipe"]
    print(f"| recipe fit seconds (5 epochs) | {f['fit_seconds']:.1f} | {k['fit_seconds']:.1f} | | | "
          f"**{f['fit_seconds'] / k['fit_seconds']:.2f}×** of Keras's time |")
    print(f"| recipe test accuracy | {100 * f['test_accuracy']:.2f}% | {100 * k['test_accuracy']:.2f}% | | | |")
    print(f"| recipe peak RSS MB | {f['peak_rss_mb']:.0f} | {k['peak_rss_mb']:.0f} | | | "
          f"**{f['peak_rss_mb'] / k['peak_rss_mb']:.2f}×** of Keras's |")
