/* AVX-512F path: 6×32 micro-kernel (12 zmm accumulators, A broadcast, two B vectors). */
#include "internal.h"

#if FOVEA_X86
#include <immintrin.h>

#define GEMM_TARGET __attribute__((target("avx512f,fma")))
#define VF __m512
#define VW 16
#define V_ZERO() _mm512_setzero_ps()
#define V_LOADU(p) _mm512_loadu_ps(p)
#define V_STOREU(p, v) _mm512_storeu_ps(p, v)
#define V_BCAST(p) _mm512_set1_ps(*(p))
#define V_SET1(x) _mm512_set1_ps(x)
#define V_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define V_MUL(a, b) _mm512_mul_ps(a, b)
#define V_ADD(a, b) _mm512_add_ps(a, b)
#define V_RELU(v) _mm512_max_ps(v, _mm512_setzero_ps())
#define UK_NAME avx512_ukernel
#define UK_NAME_ROWS avx512_ukernel_rows
#include "ukernel_simd.inc"

/* Skylake-X-class blocking (untested on hardware here; kept structurally identical to AVX2):
 * a 32×192 B sliver (24 KB) and a 6×192 A sliver fit the 32 KB L1, a 144×192 A block (108 KB)
 * the 1 MB L2, a 192×4064 B panel (3 MB) L3. */
#define MR 6
#define NR 32
#define MC 144
#define KC 192
#define NC 4064
#define GEMM_NAME fovea_gemm_avx512
#define GEMM_UKERNEL avx512_ukernel
#define GEMM_UKERNEL_ROWS avx512_ukernel_rows
#include "gemm_driver.inc"
#endif
