/*
 * The runtime thread pool (runtime/rt_pool.c, compiled natively here; the
 * same source is the bitcode inside every artifact): every iteration runs
 * exactly once, chunks respect the grain, the thread count is honoured,
 * nested and concurrent loops neither deadlock nor lose work, the pool
 * restarts after a shutdown, and idle workers do not spin.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <cmocka.h>

#include "runtime/rt_pool.h"

#define MAXN 100000

typedef struct count_job {
  atomic_int hits[MAXN];
  int64_t grain;
  atomic_int bad_chunk; /* a chunk smaller than the grain (other than the last) */
  int64_t n;
  pthread_t threads[64];
  atomic_int nthreads;
  int sleep_us;
} count_job;

static void note_thread(count_job *j) {
  pthread_t me = pthread_self();
  int n = atomic_load(&j->nthreads);
  for (int i = 0; i < n && i < 64; i++)
    if (pthread_equal(j->threads[i], me)) return;
  int k = atomic_fetch_add(&j->nthreads, 1);
  if (k < 64) j->threads[k] = me;
}

static void count_task(void *args, int64_t b, int64_t e) {
  count_job *j = args;
  if (e - b < j->grain && e != j->n) atomic_store(&j->bad_chunk, 1);
  for (int64_t i = b; i < e; i++) atomic_fetch_add(&j->hits[i], 1);
  if (j->sleep_us) {
    struct timespec ts = {0, j->sleep_us * 1000L};
    nanosleep(&ts, NULL);
  }
  /* Recorded after the sleep so that a worker's entry is not racing the
   * caller's in the fixed table (thread identities are only counted). */
  static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  pthread_mutex_lock(&mu);
  note_thread(j);
  pthread_mutex_unlock(&mu);
}

static count_job *job_new(int64_t n, int64_t grain, int sleep_us) {
  count_job *j = calloc(1, sizeof *j);
  assert_non_null(j);
  j->n = n;
  j->grain = grain;
  j->sleep_us = sleep_us;
  return j;
}

static void check_once(count_job *j) {
  for (int64_t i = 0; i < j->n; i++)
    if (atomic_load(&j->hits[i]) != 1) fail_msg("iteration %lld ran %d times", (long long)i, atomic_load(&j->hits[i]));
  assert_int_equal(atomic_load(&j->bad_chunk), 0);
}

static void test_every_iteration_once(void **state) {
  (void)state;
  static const int64_t ns[] = {1, 2, 3, 7, 64, 1000, 4097, MAXN};
  static const int64_t grains[] = {1, 3, 100, 5000};
  for (int t = 1; t <= 4; t++) {
    rt_set_num_threads(t);
    assert_int_equal(rt_num_threads(), t);
    for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
      for (size_t g = 0; g < sizeof grains / sizeof grains[0]; g++) {
        count_job *j = job_new(ns[a], grains[g], 0);
        rt_parallel_for(count_task, j, ns[a], grains[g]);
        check_once(j);
        free(j);
      }
  }
  rt_parallel_for(count_task, NULL, 0, 1); /* nothing to do: fn is never called */
  rt_set_num_threads(0);
}

static void test_thread_count(void **state) {
  (void)state;
  rt_set_num_threads(1);
  count_job *j = job_new(64, 1, 200);
  rt_parallel_for(count_task, j, 64, 1);
  check_once(j);
  assert_int_equal(atomic_load(&j->nthreads), 1); /* all on the caller */
  free(j);
  rt_set_num_threads(4);
  j = job_new(64, 1, 2000); /* 2 ms chunks: the workers get their share */
  rt_parallel_for(count_task, j, 64, 1);
  check_once(j);
  assert_true(atomic_load(&j->nthreads) > 1);
  assert_true(atomic_load(&j->nthreads) <= 4);
  free(j);
  rt_set_num_threads(0);
}

typedef struct nest {
  atomic_int inner_total;
} nest;

static void inner_task(void *args, int64_t b, int64_t e) { atomic_fetch_add(&((nest *)args)->inner_total, (int)(e - b)); }
static void outer_task(void *args, int64_t b, int64_t e) {
  for (int64_t i = b; i < e; i++) rt_parallel_for(inner_task, args, 100, 1);
}

static void test_nested(void **state) {
  (void)state;
  rt_set_num_threads(3);
  nest n = {0};
  rt_parallel_for(outer_task, &n, 50, 1); /* inner loops find the pool busy: run inline */
  assert_int_equal(atomic_load(&n.inner_total), 50 * 100);
  rt_set_num_threads(0);
}

static void *caller(void *arg) {
  for (int r = 0; r < 50; r++) {
    count_job *j = job_new(10000, 16, 0);
    rt_parallel_for(count_task, j, 10000, 16);
    for (int64_t i = 0; i < j->n; i++)
      if (atomic_load(&j->hits[i]) != 1) *(int *)arg = 0;
    free(j);
  }
  return NULL;
}

static void test_concurrent_callers(void **state) {
  (void)state;
  rt_set_num_threads(3);
  pthread_t th[4];
  int ok[4] = {1, 1, 1, 1};
  for (int i = 0; i < 4; i++) assert_int_equal(pthread_create(&th[i], NULL, caller, &ok[i]), 0);
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(ok[i], 1);
  }
  rt_set_num_threads(0);
}

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec + ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

static void test_idle_and_restart(void **state) {
  (void)state;
  rt_set_num_threads(4);
  count_job *j = job_new(1000, 1, 100);
  rt_parallel_for(count_task, j, 1000, 1);
  check_once(j);
  free(j);
  /* Three idle workers for 300 ms must cost (almost) no CPU time. */
  double c0 = cpu_seconds();
  struct timespec ts = {0, 300 * 1000 * 1000L};
  nanosleep(&ts, NULL);
  double used = cpu_seconds() - c0;
  if (used > 0.03) fail_msg("idle pool used %.3f s of CPU in 0.3 s", used);
  rt_pool_shutdown();
  j = job_new(5000, 1, 0);
  rt_parallel_for(count_task, j, 5000, 1); /* workers start again */
  check_once(j);
  free(j);
  rt_set_num_threads(0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_iteration_once), cmocka_unit_test(test_thread_count),
      cmocka_unit_test(test_nested),               cmocka_unit_test(test_concurrent_callers),
      cmocka_unit_test(test_idle_and_restart),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
