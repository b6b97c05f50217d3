/*
 * A small pthread pool for the outer loops of generated kernels.
 *
 * Compiled to LLVM bitcode at kiln build time and placed inside every
 * generated module, so an artifact needs nothing at run time but libc; this
 * file therefore uses only libc/pthreads and keeps all state in statics.
 *
 * Design:
 *   - Workers start lazily (at the first parallel loop that wants them) and
 *     sleep on a condition variable when idle. After a job a worker first
 *     polls for the next one for RT_SPIN_NS (0.1 ms): a model launches its
 *     kernels back to back, often tens of microseconds apart, and waking a
 *     sleeping thread for each cost about as much as a small kernel
 *     (MobileNet v2 on two threads: 9.1 -> 8.0 ms). An idle pool sleeps.
 *   - One loop at a time owns the pool (`busy`). A loop started while the
 *     pool is owned (another thread's call into the artifact) runs entirely
 *     on its own thread: concurrent calls are safe and never wait for each
 *     other, and nested use cannot deadlock.
 *   - A loop is a job on the caller's stack. Chunks are claimed with an
 *     atomic counter, so the caller and whichever workers wake up share the
 *     work dynamically. Workers join a job under the lock and only while it
 *     is published; the caller unpublishes it after running out of chunks
 *     and waits only for workers that joined (`refs`), so a worker that
 *     wakes late never delays the caller and never sees a finished job.
 *
 *   caller:  lock; publish job; broadcast; unlock
 *            run chunks until none left
 *            lock; unpublish; wait refs == 0; release pool; unlock
 *   worker:  lock; wait for a new generation; refs++; unlock
 *            run chunks until none left
 *            lock; refs--; signal if 0; unlock
 *
 * Tracing (instrumented modules, docs/codegen.md "Instrumentation"): the
 * run function sets kiln_trace_kernel before each launch; when
 * kiln_trace_hook is set, each thread that takes part in a loop calls it
 * with RT_TRACE_WORK_BEGIN/END around its share (thread 0: the caller,
 * worker i: i + 1). The caller reads the hook once per loop into the job,
 * so a worker never reads it unsynchronised. In a module that is not
 * instrumented nothing ever stores to the hook: LLVM folds it to NULL and
 * the checks vanish.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#endif
#include "runtime/rt_pool.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>

#define RT_MAX_THREADS 256
#define RT_SPIN_NS 100000 /* how long a worker polls for the next job before sleeping */

typedef struct rt_job {
  rt_task_fn fn;
  void *args;
  int64_t n, chunk, nchunks;
  atomic_int_fast64_t next; /* next chunk to claim */
  int refs;                 /* workers inside the job (under the lock) */
  rt_trace_fn trace;        /* kiln_trace_hook when the loop started, or NULL */
  void *trace_user;
  int kernel;               /* kiln_trace_kernel when the loop started */
} rt_job;

rt_trace_fn kiln_trace_hook;
void *kiln_trace_user;
int kiln_trace_kernel;

static struct {
  pthread_mutex_t mu;
  pthread_cond_t wake; /* workers: a job was published or shutdown */
  pthread_cond_t done; /* caller: refs dropped to 0 */
  pthread_t workers[RT_MAX_THREADS];
  int nworkers;
  bool busy, shutdown;
  rt_job *job;          /* published job, NULL if none */
  uint64_t generation;  /* bumped at every publish */
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, 0, false, false, 0, 0};

static atomic_int wanted_threads; /* 0: default */
static atomic_uint_fast64_t published; /* pool.generation, readable without the lock */

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Polls for a generation other than `seen` for up to RT_SPIN_NS. */
static void spin_for_job(uint64_t seen) {
  int64_t end = now_ns() + RT_SPIN_NS;
  for (int i = 0;; i++) {
    if (atomic_load_explicit(&published, memory_order_acquire) != seen) return;
    if ((i & 63) == 63 && now_ns() > end) return;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
}

static int default_threads(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

int rt_num_threads(void) {
  int n = atomic_load_explicit(&wanted_threads, memory_order_relaxed);
  if (n <= 0) {
    n = default_threads();
    atomic_store_explicit(&wanted_threads, n, memory_order_relaxed);
  }
  return n > RT_MAX_THREADS ? RT_MAX_THREADS : n;
}

void rt_set_num_threads(int n) { atomic_store_explicit(&wanted_threads, n > 0 ? n : 0, memory_order_relaxed); }

static void run_chunks(rt_job *j, int thread) {
  if (j->trace) j->trace(j->trace_user, j->kernel, RT_TRACE_WORK_BEGIN, thread, 0);
  for (;;) {
    int64_t c = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
    if (c >= j->nchunks) break;
    int64_t b = c * j->chunk, e = b + j->chunk;
    j->fn(j->args, b, e < j->n ? e : j->n);
  }
  if (j->trace) j->trace(j->trace_user, j->kernel, RT_TRACE_WORK_END, thread, 0);
}

/* The whole loop on the calling thread (thread 0). */
static void run_alone(rt_task_fn fn, void *args, int64_t n) {
  rt_trace_fn trace = kiln_trace_hook;
  if (trace) trace(kiln_trace_user, kiln_trace_kernel, RT_TRACE_WORK_BEGIN, 0, 0);
  fn(args, 0, n);
  if (trace) trace(kiln_trace_user, kiln_trace_kernel, RT_TRACE_WORK_END, 0, 0);
}

static void *worker_main(void *arg) {
  int thread = (int)(intptr_t)arg; /* 1 + the worker's index */
  uint64_t seen = 0;
  pthread_mutex_lock(&pool.mu);
  for (;;) {
    while (!pool.shutdown && (!pool.job || pool.generation == seen)) pthread_cond_wait(&pool.wake, &pool.mu);
    if (pool.shutdown) break;
    seen = pool.generation;
    rt_job *j = pool.job;
    j->refs++;
    pthread_mutex_unlock(&pool.mu);
    run_chunks(j, thread);
    pthread_mutex_lock(&pool.mu);
    if (--j->refs == 0) pthread_cond_signal(&pool.done);
    if (!pool.shutdown) {
      pthread_mutex_unlock(&pool.mu);
      spin_for_job(seen);
      pthread_mutex_lock(&pool.mu);
    }
  }
  pthread_mutex_unlock(&pool.mu);
  return NULL;
}

/* Starts workers up to `want` (under the lock). Workers block every signal:
 * signals belong to the host program's threads. A failed pthread_create
 * just leaves fewer workers. */
static void grow(int want) {
  if (want > RT_MAX_THREADS - 1) want = RT_MAX_THREADS - 1;
  if (pool.nworkers >= want) return;
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  while (pool.nworkers < want) {
    if (pthread_create(&pool.workers[pool.nworkers], NULL, worker_main, (void *)(intptr_t)(pool.nworkers + 1)) != 0) break;
    pool.nworkers++;
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void rt_parallel_for(rt_task_fn fn, void *args, int64_t n, int64_t grain) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  int threads = rt_num_threads();
  if (threads <= 1 || n <= grain) {
    run_alone(fn, args, n);
    return;
  }
  pthread_mutex_lock(&pool.mu);
  if (pool.busy || pool.shutdown) {
    pthread_mutex_unlock(&pool.mu);
    run_alone(fn, args, n);
    return;
  }
  pool.busy = true;
  grow(threads - 1);
  /* About four chunks a thread balances uneven progress without making
   * chunks so small that claiming them costs. */
  int64_t parts = (int64_t)(pool.nworkers + 1) * 4;
  int64_t chunk = (n + parts - 1) / parts;
  if (chunk < grain) chunk = grain;
  rt_job job = {fn, args, n, chunk, (n + chunk - 1) / chunk, 0, 0, kiln_trace_hook, kiln_trace_user, kiln_trace_kernel};
  if (pool.nworkers > 0 && job.nchunks > 1) {
    pool.job = &job;
    pool.generation++;
    atomic_store_explicit(&published, pool.generation, memory_order_release);
    pthread_cond_broadcast(&pool.wake);
  }
  pthread_mutex_unlock(&pool.mu);
  run_chunks(&job, 0);
  pthread_mutex_lock(&pool.mu);
  pool.job = NULL;
  while (job.refs > 0) pthread_cond_wait(&pool.done, &pool.mu);
  pool.busy = false;
  pthread_mutex_unlock(&pool.mu);
}

void rt_pool_shutdown(void) {
  pthread_mutex_lock(&pool.mu);
  pool.shutdown = true;
  pthread_cond_broadcast(&pool.wake);
  int n = pool.nworkers;
  pthread_mutex_unlock(&pool.mu);
  for (int i = 0; i < n; i++) pthread_join(pool.workers[i], NULL);
  pthread_mutex_lock(&pool.mu);
  pool.nworkers = 0;
  pool.shutdown = false;
  pthread_mutex_unlock(&pool.mu);
}

/* Workers run code of this object: they must be gone before it is unmapped
 * (dlclose) or the process exits. */
__attribute__((destructor)) static void rt_pool_fini(void) { rt_pool_shutdown(); }
