/* Per-thread packing buffers. Dispatch's workers are persistent, so after warm-up a GEMM call
 * allocates nothing; a pthread key frees the memory if a worker thread ever exits. */
#include "fovea_kernels.h"
#include "internal.h"
#include <pthread.h>
#include <stdlib.h>

typedef struct {
  float *a, *b;
  size_t a_cap, b_cap;
  float *scratch[FOVEA_SCRATCH_SLOTS];
  size_t scratch_cap[FOVEA_SCRATCH_SLOTS];
} pack_buffers;

static pthread_key_t key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void release(void *p) {
  pack_buffers *buf = p;
  free(buf->a);
  free(buf->b);
  for (int i = 0; i < FOVEA_SCRATCH_SLOTS; i++) free(buf->scratch[i]);
  free(buf);
}
static void make_key(void) { pthread_key_create(&key, release); }

static int grow(float **p, size_t *cap, size_t floats) {
  if (floats <= *cap && *p) return 1;
  size_t bytes = (floats * sizeof(float) + 63) & ~(size_t)63;
  float *q = aligned_alloc(64, bytes ? bytes : 64);
  if (!q) return 0;
  free(*p);
  *p = q;
  *cap = bytes / sizeof(float);
  return 1;
}

static pack_buffers *thread_buffers(void) {
  pthread_once(&key_once, make_key);
  pack_buffers *buf = pthread_getspecific(key);
  if (!buf) {
    buf = calloc(1, sizeof *buf);
    if (!buf) return NULL;
    pthread_setspecific(key, buf);
  }
  return buf;
}

float *fovea_scratch(size_t floats, int slot) {
  if (slot < 0 || slot >= FOVEA_SCRATCH_SLOTS) return NULL;
  pack_buffers *buf = thread_buffers();
  if (!buf || !grow(&buf->scratch[slot], &buf->scratch_cap[slot], floats)) return NULL;
  return buf->scratch[slot];
}

float *fovea_pack_buffers(size_t a_floats, size_t b_floats, float **b_out) {
  pack_buffers *buf = thread_buffers();
  if (!buf) return NULL;
  if (!grow(&buf->a, &buf->a_cap, a_floats) || !grow(&buf->b, &buf->b_cap, b_floats)) return NULL;
  *b_out = buf->b;
  return buf->a;
}
