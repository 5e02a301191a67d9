"""NumPy's (OpenBLAS's) SGEMM at N×N×N in GFLOP/s, the median of R repetitions (default 10) after a
warm-up; JSON for bench/compare.sh.  Usage: numpy_gemm.py [N] [R]"""
import json, statistics, sys, time
import numpy as np
n = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
reps = int(sys.argv[2]) if len(sys.argv) > 2 else 10
a = np.random.rand(n, n).astype(np.float32); b = np.random.rand(n, n).astype(np.float32)
a @ b
times = []
for _ in range(reps):
    t = time.perf_counter(); a @ b; times.append(time.perf_counter() - t)
print(json.dumps({"gemm_n": n, "gflops": 2 * n ** 3 / statistics.median(times) / 1e9}))
