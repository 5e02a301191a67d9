/* AVX2 + FMA path: 6×16 micro-kernel (12 ymm accumulators, A broadcast, two B vectors). */
#include "internal.h"

#if FOVEA_X86
#include <immintrin.h>

#define GEMM_TARGET __attribute__((target("avx2,fma")))
#define VF __m256
#define VW 8
#define V_ZERO() _mm256_setzero_ps()
#define V_LOADU(p) _mm256_loadu_ps(p)
#define V_STOREU(p, v) _mm256_storeu_ps(p, v)
#define V_BCAST(p) _mm256_broadcast_ss(p)
#define V_SET1(x) _mm256_set1_ps(x)
#define V_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define V_MUL(a, b) _mm256_mul_ps(a, b)
#define V_ADD(a, b) _mm256_add_ps(a, b)
#define V_RELU(v) _mm256_max_ps(v, _mm256_setzero_ps())
#define UK_NAME avx2_ukernel
#define UK_NAME_ROWS avx2_ukernel_rows
#include "ukernel_simd.inc"

/* Zen 3 / Haswell-class blocking: a 16×256 B sliver (16 KB) stays in L1, a 144×256 A block
 * (144 KB) in L2, a 256×4080 B panel (4 MB) in L3. */
#define MR 6
#define NR 16
#define MC 144
#define KC 256
#define NC 4080
#define GEMM_NAME fovea_gemm_avx2
#define GEMM_UKERNEL avx2_ukernel
#define GEMM_UKERNEL_ROWS avx2_ukernel_rows
#include "gemm_driver.inc"
#endif
