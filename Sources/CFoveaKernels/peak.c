/* The machine's FMA ceiling: independent multiply-add chains that never touch memory, so the
 * floating-point units, not the caches, set the pace (what ../shared/bench/peak_fma.c measures). */
#include "fovea_kernels.h"
#include "internal.h"

typedef float v8 __attribute__((vector_size(32)));
typedef float v16 __attribute__((vector_size(64)));
typedef float v4 __attribute__((vector_size(16)));

/* 12 accumulators hide the FMA latency on every current x86 core. */
#define CHAINS(T, FMA)                                                                           \
  T acc[12];                                                                                     \
  for (int i = 0; i < 12; i++) acc[i] = (T){0} + (float)i * 1e-3f;                               \
  const T a = (T){0} + 0.999999f, b = (T){0} + 1e-7f;                                            \
  for (long r = 0; r < repeats; r++)                                                             \
    for (int i = 0; i < 12; i++) acc[i] = FMA;                                                   \
  T sum = acc[0];                                                                                \
  for (int i = 1; i < 12; i++) sum += acc[i];                                                    \
  float total = 0;                                                                               \
  for (unsigned i = 0; i < sizeof(T) / sizeof(float); i++) total += sum[i];                      \
  return total;

#if FOVEA_X86
__attribute__((target("avx2,fma"))) static float chains_avx2(long repeats) {
  CHAINS(v8, __builtin_ia32_vfmaddps256(acc[i], a, b))
}
__attribute__((target("avx512f"))) static float chains_avx512(long repeats) {
  CHAINS(v16, acc[i] * a + b)
}
#endif

static float chains_portable(long repeats) { CHAINS(v4, acc[i] * a + b) }

long fovea_fma_flops_per_repeat(int path) {
  switch (path) {
  case FOVEA_PATH_AVX2: return 12L * 8 * 2;
  case FOVEA_PATH_AVX512: return 12L * 16 * 2;
  default: return 12L * 4 * 2;
  }
}

float fovea_fma_chains(int path, long repeats) {
#if FOVEA_X86
  if (path == FOVEA_PATH_AVX2) return chains_avx2(repeats);
  if (path == FOVEA_PATH_AVX512) return chains_avx512(repeats);
#endif
  return chains_portable(repeats);
}
