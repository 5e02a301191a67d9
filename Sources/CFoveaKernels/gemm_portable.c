/* Portable path: no target-specific code. GNU C vector types (GCC and Clang) lower to the build's
 * baseline vectors (SSE2 on x86-64, NEON on arm64) or to scalars. The same 6×(2·VW) micro-kernel
 * as the AVX paths with four-lane vectors: a 6×8 tile in 12 accumulators (plain loops over a
 * tile array were not kept in registers by the compiler). */
#include "internal.h"
#include <string.h>

typedef float v4f __attribute__((vector_size(16)));
typedef int v4i __attribute__((vector_size(16)));

static inline v4f load4(const float *p) { v4f v; memcpy(&v, p, sizeof v); return v; }
static inline void store4(float *p, v4f v) { memcpy(p, &v, sizeof v); }
static inline v4f splat4(float x) { return (v4f){x, x, x, x}; }
/* Lanes that are not > 0 (including NaN) become +0, like the scalar edge path. */
static inline v4f relu4(v4f v) { return (v4f)((v4i)v & (v > splat4(0.0f))); }

#define GEMM_TARGET
#define VF v4f
#define VW 4
#define V_ZERO() splat4(0.0f)
#define V_LOADU(p) load4(p)
#define V_STOREU(p, v) store4(p, v)
#define V_BCAST(p) splat4(*(p))
#define V_SET1(x) splat4(x)
#define V_FMA(a, b, c) ((a) * (b) + (c))
#define V_MUL(a, b) ((a) * (b))
#define V_ADD(a, b) ((a) + (b))
#define V_RELU(v) relu4(v)
#define UK_NAME portable_ukernel
#define UK_NAME_ROWS portable_ukernel_rows
#include "ukernel_simd.inc"

#define MR 6
#define NR 8
#define MC 144
#define KC 256
#define NC 4096
#define GEMM_NAME fovea_gemm_portable
#define GEMM_UKERNEL portable_ukernel
#define GEMM_UKERNEL_ROWS portable_ukernel_rows
#include "gemm_driver.inc"
