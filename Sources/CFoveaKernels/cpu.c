/* Run-time CPU feature detection: which instruction-set path the kernels may use. */
#include "fovea_kernels.h"
#include "internal.h"
#include <pthread.h>

#if FOVEA_X86
#define FEATURES(X)                                                                              \
  X("sse2") X("sse3") X("ssse3") X("sse4.1") X("sse4.2") X("popcnt") X("avx") X("avx2")         \
  X("fma") X("bmi2") X("avx512f") X("avx512dq") X("avx512bw") X("avx512vl")
#define NAME(s) s,
#define HAS(s) (__builtin_cpu_supports(s) ? 1 : 0),
static const char *const feature_names[] = {FEATURES(NAME)};
enum { FEATURE_COUNT = sizeof(feature_names) / sizeof(feature_names[0]) };

/* Filled once by pthread_once, which also orders the writes before every reader's reads: two
 * threads asking at once would otherwise both write the table while the other reads it. */
static int flags[FEATURE_COUNT];
static pthread_once_t flags_once = PTHREAD_ONCE_INIT;

static void detect_features(void) {
  __builtin_cpu_init();
  int values[] = {FEATURES(HAS)};
  for (int i = 0; i < FEATURE_COUNT; i++) flags[i] = values[i];
}

static int feature_flags(int index) {
  pthread_once(&flags_once, detect_features);
  return flags[index];
}

int fovea_cpu_feature_count(void) { return FEATURE_COUNT; }
const char *fovea_cpu_feature_name(int index) {
  return index >= 0 && index < FEATURE_COUNT ? feature_names[index] : "";
}
int fovea_cpu_feature_has(int index) {
  return index >= 0 && index < FEATURE_COUNT ? feature_flags(index) : 0;
}

int fovea_path_supported(int path) {
  switch (path) {
  case FOVEA_PATH_PORTABLE: return 1;
  case FOVEA_PATH_AVX2:
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  case FOVEA_PATH_AVX512:
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
  default: return 0;
  }
}
#else
int fovea_cpu_feature_count(void) { return 0; }
const char *fovea_cpu_feature_name(int index) { (void)index; return ""; }
int fovea_cpu_feature_has(int index) { (void)index; return 0; }
int fovea_path_supported(int path) { return path == FOVEA_PATH_PORTABLE; }
#endif

int fovea_detect_path(void) {
  if (fovea_path_supported(FOVEA_PATH_AVX512)) return FOVEA_PATH_AVX512;
  if (fovea_path_supported(FOVEA_PATH_AVX2)) return FOVEA_PATH_AVX2;
  return FOVEA_PATH_PORTABLE;
}
