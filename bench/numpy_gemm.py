"""NumPy's (OpenBLAS's) SGEMM at N×N×N in GFLOP/s, the median of repetitions; JSON for bench/compare.sh."""
import json, statistics, sys, time
import numpy as np
n = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
a = np.random.rand(n, n).astype(np.float32); b = np.random.rand(n, n).astype(np.float32)
a @ b
times = []
for _ in range(10):
    t = time.perf_counter(); a @ b; times.append(time.perf_counter() - t)
print(json.dumps({"gemm_n": n, "gflops": 2 * n ** 3 / statistics.median(times) / 1e9}))
