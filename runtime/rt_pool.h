/*
 * The thread pool that generated code calls: the contract between
 * codegen/ and runtime/rt_pool.c.
 *
 * rt_pool.c is compiled at kiln build time to LLVM bitcode and placed into
 * every generated module (codegen/cpu/cg_runtime.c), where these functions get
 * internal linkage: each artifact (and each JIT'd executable) has its own pool.
 * The signatures below are what codegen declares in LLVM IR; keep both in
 * step (int is i32, int64_t is i64, pointers are opaque).
 *
 * State: one pool per loaded artifact, created lazily by the first parallel
 * loop, stopped (workers joined) by a destructor when the code is unloaded;
 * JIT'd code runs no destructors, so codegen/cg_jit.c calls
 * rt_pool_shutdown through an entry point it adds (kiln.jit.shutdown).
 */
#ifndef KILN_RUNTIME_RT_POOL_H
#define KILN_RUNTIME_RT_POOL_H

#include <stdint.h>

/* A chunk of a parallel loop: iterations [begin, end) of the kernel whose
 * buffer pointers are in args. */
typedef void (*rt_task_fn)(void *args, int64_t begin, int64_t end);

/* Runs fn over [0, n) split in chunks of at least `grain` iterations, on the
 * calling thread and the pool's workers, and returns when every chunk is
 * done. Runs everything on the calling thread when the pool is busy with
 * another caller, when one thread is configured, or when n <= grain. */
void rt_parallel_for(rt_task_fn fn, void *args, int64_t n, int64_t grain);

/* Threads used by parallel loops, the caller included. n <= 0 restores the
 * default: the number of CPUs this process may run on. Takes effect at the
 * next parallel loop; safe from any thread. */
void rt_set_num_threads(int n);
int rt_num_threads(void);

/* Tracing (instrumented modules): the run function stores the index of
 * the kernel it launches into kiln_trace_kernel; when kiln_trace_hook is
 * not NULL every thread taking part in a parallel loop calls
 * hook(kiln_trace_user, kernel, RT_TRACE_WORK_BEGIN / _END, thread, NULL)
 * around its share (thread 0 is the caller, worker i is i + 1). Set by the
 * module's kiln_NAME_set_trace (codegen/cg_module.c); the phase numbers
 * are KILN_TRACE_WORK_BEGIN/END of kiln/kiln.h. Defined here, zero, so a
 * module never instrumented folds them away. */
enum { RT_TRACE_WORK_BEGIN = 2, RT_TRACE_WORK_END = 3 };
typedef void (*rt_trace_fn)(void *user, int kernel, int phase, int thread, void *const *buffers);
extern rt_trace_fn kiln_trace_hook;
extern void *kiln_trace_user;
extern int kiln_trace_kernel;

/* Stops and joins the workers (the pool restarts if used again). Runs
 * automatically when a .so is unloaded; kiln_executable_destroy calls it
 * for JIT'd code. */
void rt_pool_shutdown(void);

#endif
