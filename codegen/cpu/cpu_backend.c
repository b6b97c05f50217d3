/*
 * The CPU backend's table (cg_backend.h): what the shared core asks of a
 * CPU target.
 *
 *   describe      the level's vector width, registers, GEMM register tile
 *                 (cg_cpu.c: cg_cpu_describe_level) for passes and cg_gemm.c;
 *   setup         --cpu=portable's checks, the target machine's CPU;
 *   module_init   the levels' feature lists (cg_cpu.c), the runtime
 *                 bitcode (thread pool, CPU check; cg_runtime.c);
 *   emit_kernel   the kernel kind: GEMM (cg_gemm.c), sort and scatter
 *                 (cg_sort.c), depthwise (cg_dwconv.c) or row
 *                 (cg_conv.c) convolution, else a loop (cg_loop.c); each
 *                 phase wrapped in a task; the kind is named in the
 *                 launch for instrumented modules' kernel tables;
 *   emit_launch   rt_parallel_for where a phase has enough work, else a
 *                 direct call of the task;
 *   new_run / export_run
 *                 one internal run function per level behind the exported
 *                 kiln_NAME_run, baseline code that asks the runtime for the
 *                 CPU's features and calls the best level (or returns
 *                 KILN_ARTIFACT_ERR_CPU); without a check (other
 *                 architectures or OSes, kiln built without clang-19) the
 *                 one run function is exported as it is;
 *   artifact_fns  set_num_threads/num_threads around the pool,
 *                 missing_features/selected_cpu around the check;
 *   math_call     libm;
 *   finish        internal linkage for the runtime, the JIT's shutdown.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cg_llvm_names.h"
#include "codegen/cpu/cg_cpu.h"
#include "include/kiln/artifact.h"
#include "ir/cost.h"

static const char *const levels_portable[3] = {"x86-64-v2", "x86-64-v3", "x86-64-v4"};

static bool cpu_serves(const char *triple) {
  (void)triple;
  return true; /* whatever LLVM targets and no other backend claims */
}

static bool is_portable(const cg_target_req *r) { return strcmp(r->cpu, CG_CPU_PORTABLE) == 0 && r->user_cpu; }

/* --cpu=portable is x86-64 only and takes no --features. */
static bool check_portable(const cg_target_req *r, diag *d) {
  bool x86 = strncmp(r->triple, "x86_64", 6) == 0;
  if (!is_portable(r) || (x86 && !r->features[0])) return true;
  diag_error(d, "--cpu=%s builds x86-64-v2, -v3 and -v4 kernels for an x86_64 target; it takes no --features%s%s",
             CG_CPU_PORTABLE, !x86 ? " and not the target " : "", !x86 ? r->triple : "");
  return false;
}

/* The features each level needs (levels[0..*n)). */
static bool make_levels(const cg_target_req *r, cg_level *levels, int *n, diag *d) {
  bool portable = is_portable(r);
  *n = portable ? 3 : 1;
  memset(levels, 0, sizeof(cg_level) * 3);
  for (int i = 0; i < *n; i++) {
    levels[i].cpu = portable ? levels_portable[i] : r->cpu;
    levels[i].features = portable ? "" : r->features;
    if (!cg_cpu_features(r->triple, levels[i].cpu, levels[i].features,
                         !portable && !r->user_cpu && !r->user_features && r->host, &levels[i].need, d))
      return false;
  }
  return true;
}

static bool cpu_describe(const cg_target_req *r, ir_target *t, diag *d) {
  if (!check_portable(r, d)) return false;
  bool portable = is_portable(r);
  /* The names LLVM would refuse are refused here too (cg_lower's target
   * machine checks them the same way). */
  if (((r->user_cpu && !portable) || r->user_features) && r->llvm_target &&
      !cg_check_llvm_names(r->llvm_target, r->cpu, r->features, d))
    return false;
  cg_level levels[3];
  int n;
  if (!make_levels(r, levels, &n, d)) return false;
  /* Portable: what every level can run, the lowest level's, with weights
   * left unpacked (every level packs at run time from one copy). */
  const cg_level *l = &levels[0];
  cg_cpu_describe_level(r->triple, portable ? CG_CPU_PORTABLE : l->cpu, l->need.x86 ? l->need.text : l->features,
                        !portable, t);
  return true;
}

static bool cpu_setup(cg_ctx *c, const cg_target_req *r, cg_tm_req *tm) {
  if (!check_portable(r, c->d)) return false;
  cg_cpu_state *s = calloc(1, sizeof *s);
  if (!s) {
    diag_error(c->d, "out of memory");
    return false;
  }
  c->be = s;
  s->portable = is_portable(r);
  s->triple = r->triple;
  /* Portable: the target machine (data layout, pipeline) is the lowest
   * level's; each function's attributes name its own level. */
  tm->cpu = s->portable ? levels_portable[0] : r->cpu;
  tm->features = r->features;
  tm->check_names = (r->user_cpu && !s->portable) || r->user_features;
  return true;
}

static bool cpu_module_init(cg_ctx *c, const cg_target_req *r) {
  cg_cpu_state *s = cg_cpu(c);
  if (!make_levels(r, s->levels, &c->nlevels, c->d)) return false;
  cg_set_level(c, 0);
  LLVMTypeRef task_args[3] = {c->t_ptr, c->t_i64, c->t_i64};
  s->t_task = LLVMFunctionType(c->t_void, task_args, 3, 0);
  LLVMTypeRef pfor_args[4] = {c->t_ptr, c->t_ptr, c->t_i64, c->t_i64};
  s->t_pfor = LLVMFunctionType(c->t_void, pfor_args, 4, 0);
  if (!cg_runtime_module(c, r->triple)) return false;
  const cg_level *l0 = &s->levels[0];
  if (l0->need.x86 && !s->fn_cpu_host)
    diag_emit(c->d, DIAG_NOTE,
              "the code for %s cannot check the CPU's features before it runs (the check is built for this "
              "machine's platform only); it needs %s",
              r->triple, l0->need.text[0] ? l0->need.text : "no optional feature");
  else if (!l0->need.x86 && (r->user_cpu || r->user_features))
    diag_emit(c->d, DIAG_NOTE, "CPU features are only recorded and checked for x86-64; code for %s does not check them",
              r->triple);
  return true;
}

static LLVMValueRef cpu_math_call(cg_ctx *c, const char *name, LLVMTypeRef ret, LLVMValueRef *args, unsigned nargs) {
  return cg_call_extern(c, name, ret, args, nargs);
}

/* ---- kernels ---------------------------------------------------------------- */

/* The kind a loop kernel is listed as in kernel tables: "reduce" when its
 * root reduces, "copy" when it only moves data (no arithmetic anywhere in
 * it), else "loop". */
static const char *loop_kind(const cg_ctx *c, const cg_kdesc *d) {
  ir_op rop = d->comp->insts[d->root].op;
  if (rop == IR_OP_REDUCE || rop == IR_OP_REDUCE_WINDOW) return "reduce";
  const ir_comp *e = ir_module_entry(c->m);
  if (d->inst && e && d->inst >= e->insts && d->inst < e->insts + e->ninsts &&
      ir_inst_flops(c->m, e, (ir_id)(d->inst - e->insts)) == 0)
    return "copy";
  return "loop";
}

/* Whether a shape is symbolic at most in its first dimension. */
static bool batch_only(const ir_shape *s) {
  for (int i = 1; i < s->rank; i++)
    if (s->sym[i]) return false;
  return true;
}

/* Whether kernel d is symbolic at most in the batch (dimension 0) of its
 * buffers and, for a fusion, of every instruction of its computation: what
 * the row-convolution and depthwise kernels take (their spatial loops are
 * static); anything else stays with the loop kernel. */
static bool batch_symbolic_only(const cg_ctx *c, const cg_kdesc *d) {
  for (uint32_t i = 0; i < d->nout; i++)
    if (!batch_only(&d->out_shapes[i])) return false;
  for (uint32_t i = 0; i < d->nin; i++)
    if (!batch_only(d->in_shapes[i])) return false;
  if (d->comp_index == (uint32_t)c->m->entry) return true;
  for (ir_id id = 0; id < d->comp->ninsts; id++) {
    const ir_inst *in = &d->comp->insts[id];
    if (in->shape.type != IR_TUPLE && !batch_only(&in->shape)) return false;
    for (uint32_t k = 0; in->shape.type == IR_TUPLE && k < in->ntuple; k++)
      if (!batch_only(&in->tuple[k])) return false;
  }
  return true;
}

/* False (reported) when a shape of d is symbolic. */
static bool static_kernel(cg_ctx *c, const cg_kdesc *d) {
  const ir_shape *s = NULL;
  for (uint32_t i = 0; i < d->nout; i++)
    if (!ir_shape_is_static(&d->out_shapes[i])) s = &d->out_shapes[i];
  for (uint32_t i = 0; i < d->nin; i++)
    if (!ir_shape_is_static(d->in_shapes[i])) s = d->in_shapes[i];
  if (!s) return true;
  return cg_fail_unsupported(c, "%%%s (%s): code generation for symbolic dimensions does not support this kernel yet; bind the "
                 "shapes with --input-shape to compile this model",
                 d->inst ? d->inst->name : "?", ir_op_name(d->comp->insts[d->root].op));
}

static bool cpu_emit_kernel(cg_ctx *c, const cg_kdesc *d, cg_launch *out) {
  unsigned gemm_tag = 0;
  bool gemm = cg_gemm_applies(c, d, &gemm_tag);
  size_t klen;
  char *key = cg_kernel_key(d, &klen);
  if (!key) return cg_fail(c, "out of memory");
  if (gemm) {
    /* Which operands are packed at compile time changes the code. */
    size_t n = klen + 32;
    char *k2 = realloc(key, n);
    if (!k2) {
      free(key);
      return cg_fail(c, "out of memory");
    }
    key = k2;
    klen += (size_t)snprintf(key + klen, n - klen, "gemm %u\n", gemm_tag);
  }
  if (cg_kernel_lookup(c, key, klen, out)) {
    free(key);
    return true;
  }
  LLVMBasicBlockRef saved = LLVMGetInsertBlock(c->b);
  bool ok;
  ir_op rop = d->comp->insts[d->root].op;
  if (gemm) {
    ir_id hero = d->root;
    cg_epilogue_hero(d, &hero);
    out->kind = d->comp->insts[hero].op == IR_OP_CONVOLUTION ? "conv" : "gemm";
    ok = cg_gemm_kernel(c, d, out);
  } else {
    LLVMValueRef body = cg_kernel_body(c, d);
    ok = body != NULL;
    out->nphase = 1;
    bool batch = !d->symbolic || batch_symbolic_only(c, d);
    /* Scatters read every extent; sorts take a run-time number of rows
     * but a static length (cg_symbolic.c). */
    if (ok && d->symbolic && rop == IR_OP_SCATTER) ok = static_kernel(c, d);
    if (ok && d->symbolic && rop == IR_OP_SORT && d->comp->insts[d->comp->insts[d->root].ops[0]].shape.sym[d->comp->insts[d->root].dims[0]])
      ok = static_kernel(c, d);
    if (ok) {
      if (rop == IR_OP_SORT) out->kind = "sort", ok = cg_sort_kernel(c, d, body, &out->ph[0], &out->scratch);
      else if (rop == IR_OP_SCATTER) out->kind = "scatter", ok = cg_scatter_kernel(c, d, body, &out->ph[0]);
      else if (d->symbolic && cg_dyngemm_applies(c, d)) out->kind = "gemm", ok = cg_dyngemm_kernel(c, d, body, &out->ph[0]);
      else if (batch && cg_conv_dw_applies(c, d)) out->kind = "dwconv", ok = cg_conv_dw_kernel(c, d, body, &out->ph[0]);
      else if (batch && cg_conv_rows_applies(d)) out->kind = "conv", ok = cg_conv_rows_kernel(c, d, body, &out->ph[0]);
      else out->kind = loop_kind(c, d), ok = cg_loop_kernel(c, d, body, &out->ph[0]);
    }
    if (ok) {
      out->ph[0].task = cg_kernel_task(c, d, body);
      ok = out->ph[0].task != NULL;
    }
  }
  if (saved) LLVMPositionBuilderAtEnd(c->b, saved);
  if (!ok) {
    free(key);
    return false;
  }
  if (!cg_kernel_remember(c, key, klen, out)) return false;
  return true;
}

static void cpu_emit_launch(cg_ctx *c, const cg_launch *l, LLVMValueRef args) {
  const cg_cpu_state *s = cg_cpu(c);
  for (uint32_t q = 0; q < l->nphase; q++) {
    const cg_phase *ph = &l->ph[q];
    if (ph->n <= 0) continue;
    /* The iterations: a constant, or (symbolic modules) the phase's units
     * function of the binding. */
    LLVMValueRef n = cg_i64(c, ph->n);
    if (ph->units) n = LLVMBuildCall2(c->b, LLVMGlobalGetValueType(ph->units), ph->units, &c->bind, 1, "units");
    /* Parallel only when there is enough work to amortise waking threads:
     * ~64k operations in all and >= ~16k per chunk (at the bounds; the
     * pool runs a loop too short for two chunks on the calling thread). */
    double total = ph->cost * (double)ph->n;
    if (!ph->serial && ph->n > 1 && total >= 65536.0) {
      int64_t grain = (int64_t)(16384.0 / (ph->cost > 1 ? ph->cost : 1)) + 1;
      LLVMValueRef a[4] = {ph->task, args, n, cg_i64(c, grain)};
      if (ph->units) {
        /* The same rule at run time: a binding that leaves too little work
         * calls the task directly instead of waking the pool. */
        int64_t enough = (int64_t)(65536.0 / (ph->cost > 1 ? ph->cost : 1)) + 1;
        LLVMValueRef fn = LLVMGetBasicBlockParent(LLVMGetInsertBlock(c->b));
        LLVMBasicBlockRef par = LLVMAppendBasicBlockInContext(c->llc, fn, "parallel");
        LLVMBasicBlockRef one = LLVMAppendBasicBlockInContext(c->llc, fn, "serial");
        LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(c->llc, fn, "launched");
        LLVMBuildCondBr(c->b, LLVMBuildICmp(c->b, LLVMIntSGE, n, cg_i64(c, enough), ""), par, one);
        LLVMPositionBuilderAtEnd(c->b, par);
        LLVMBuildCall2(c->b, s->t_pfor, s->fn_pfor, a, 4, "");
        LLVMBuildBr(c->b, done);
        LLVMPositionBuilderAtEnd(c->b, one);
        LLVMValueRef t[3] = {args, cg_i64(c, 0), n};
        LLVMBuildCall2(c->b, s->t_task, ph->task, t, 3, "");
        LLVMBuildBr(c->b, done);
        LLVMPositionBuilderAtEnd(c->b, done);
      } else {
        LLVMBuildCall2(c->b, s->t_pfor, s->fn_pfor, a, 4, "");
      }
    } else {
      LLVMValueRef a[3] = {args, cg_i64(c, 0), n};
      LLVMBuildCall2(c->b, s->t_task, ph->task, a, 3, "");
    }
  }
}

/* ---- the run function and the CPU check ------------------------------------- */

/* Exported as kiln_NAME_run when the module cannot check the CPU
 * (fn_cpu_host NULL), else internal as kiln.run.CPU, called by the exported
 * one after the check (cpu_export_run). */
static LLVMValueRef cpu_new_run(cg_ctx *c, LLVMTypeRef ty, int level) {
  const cg_cpu_state *s = cg_cpu(c);
  /* A symbolic module's run function takes the binding: the shared core
   * exports the wrappers (cg_module.c). */
  if (!s->fn_cpu_host && !c->symbolic) return cg_exported_fn(c, "run", ty, false);
  char name[64];
  snprintf(name, sizeof name, "kiln.run.%s", s->fn_cpu_host ? s->levels[level].cpu : "impl");
  LLVMValueRef fn = LLVMAddFunction(c->mod, name, ty);
  LLVMSetLinkage(fn, LLVMInternalLinkage);
  cg_fn_attrs(c, fn);
  /* Never inlined into the check (the x86 inliner refuses anyway when the
   * features differ; this keeps it so for baseline levels too). */
  unsigned noinline = LLVMGetEnumAttributeKindForName("noinline", 8);
  LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(c->llc, noinline, 0));
  return fn;
}

/* In fn, at the builder: branches to on_level[l] for the best level this
 * CPU has (highest first), else to none. The host's features come from
 * the runtime (cpuid once per process and artifact, cached). */
static void select_level(cg_ctx *c, LLVMValueRef fn, LLVMBasicBlockRef *on_level, LLVMBasicBlockRef none) {
  const cg_cpu_state *s = cg_cpu(c);
  LLVMValueRef have = LLVMBuildCall2(c->b, LLVMGlobalGetValueType(s->fn_cpu_host), s->fn_cpu_host, NULL, 0, "have");
  for (int l = c->nlevels - 1; l >= 0; l--) {
    LLVMValueRef need = LLVMConstInt(c->t_i64, s->levels[l].need.need, 0);
    LLVMValueRef ok = LLVMBuildICmp(c->b, LLVMIntEQ, LLVMBuildAnd(c->b, have, need, ""), need, "");
    LLVMBasicBlockRef next = l ? LLVMAppendBasicBlockInContext(c->llc, fn, "next") : none;
    LLVMBuildCondBr(c->b, ok, on_level[l], next);
    if (l) LLVMPositionBuilderAtEnd(c->b, next);
  }
}

/* kiln_NAME_run: checks the CPU, then calls the run function of the best
 * level it has, or returns KILN_ARTIFACT_ERR_CPU without running anything
 * built for more than the x86-64 baseline. */
static LLVMValueRef cpu_export_run(cg_ctx *c, LLVMValueRef *impl) {
  if (!cg_cpu(c)->fn_cpu_host) return impl[0];
  /* Symbolic modules: i32(in, out, ws, bind), internal, wrapped by the
   * shared core's exported run and run_shaped. */
  unsigned np = c->symbolic ? 4 : 3;
  LLVMTypeRef pt[4] = {c->t_ptr, c->t_ptr, c->t_ptr, c->t_ptr};
  LLVMTypeRef ty = LLVMFunctionType(c->t_i32, pt, np, 0);
  LLVMValueRef fn;
  if (c->symbolic) {
    fn = LLVMAddFunction(c->mod, "kiln.run.select", ty);
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    cg_fn_attrs_baseline(c, fn);
  } else {
    fn = cg_exported_fn(c, "run", ty, true);
  }
  LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(c->llc, fn, "entry");
  LLVMBasicBlockRef on[3], none = LLVMAppendBasicBlockInContext(c->llc, fn, "cpu_lacks_features");
  LLVMValueRef args[4];
  for (unsigned i = 0; i < np; i++) args[i] = LLVMGetParam(fn, i);
  for (int l = 0; l < c->nlevels; l++) {
    on[l] = LLVMAppendBasicBlockInContext(c->llc, fn, "level");
    LLVMPositionBuilderAtEnd(c->b, on[l]);
    LLVMBuildRet(c->b, LLVMBuildCall2(c->b, ty, impl[l], args, np, ""));
  }
  LLVMPositionBuilderAtEnd(c->b, none);
  LLVMBuildRet(c->b, cg_i32(c, KILN_ARTIFACT_ERR_CPU));
  LLVMPositionBuilderAtEnd(c->b, entry);
  select_level(c, fn, on, none);
  return fn;
}

static bool cpu_artifact_fns(cg_ctx *c, cg_artifact_fns *f) {
  const cg_cpu_state *s = cg_cpu(c);
  /* int32 set_num_threads / num_threads wrappers around the runtime. */
  LLVMTypeRef st_ty = LLVMFunctionType(c->t_void, &c->t_i32, 1, 0), nt_ty = LLVMFunctionType(c->t_i32, NULL, 0, 0);
  LLVMValueRef setf = cg_exported_fn(c, "set_num_threads", st_ty, true);
  LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->llc, setf, "entry"));
  LLVMValueRef a0 = LLVMGetParam(setf, 0);
  LLVMBuildCall2(c->b, LLVMGlobalGetValueType(s->fn_set_threads), s->fn_set_threads, &a0, 1, "");
  LLVMBuildRetVoid(c->b);
  LLVMValueRef numf = cg_exported_fn(c, "num_threads", nt_ty, true);
  LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->llc, numf, "entry"));
  LLVMBuildRet(c->b, LLVMBuildCall2(c->b, LLVMGlobalGetValueType(s->fn_num_threads), s->fn_num_threads, NULL, 0, ""));
  f->set_threads = setf;
  f->num_threads = numf;

  /* missing_features(buf, cap) and selected_cpu(): the check's answers,
   * for loaders (api/executable.c) and for programs using the ABI alone. */
  if (s->fn_cpu_host) {
    LLVMTypeRef mt[2] = {c->t_ptr, c->t_i64};
    LLVMValueRef missf = cg_exported_fn(c, "missing_features", LLVMFunctionType(c->t_i64, mt, 2, 0), true);
    LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->llc, missf, "entry"));
    LLVMValueRef have = LLVMBuildCall2(c->b, LLVMGlobalGetValueType(s->fn_cpu_host), s->fn_cpu_host, NULL, 0, "");
    LLVMValueRef ma[4] = {LLVMConstInt(c->t_i64, s->levels[0].need.need, 0), have, LLVMGetParam(missf, 0),
                          LLVMGetParam(missf, 1)};
    LLVMBuildRet(c->b, LLVMBuildCall2(c->b, LLVMGlobalGetValueType(s->fn_cpu_missing), s->fn_cpu_missing, ma, 4, ""));
    LLVMValueRef self = cg_exported_fn(c, "selected_cpu", LLVMFunctionType(c->t_ptr, NULL, 0, 0), true);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(c->llc, self, "entry");
    LLVMBasicBlockRef on[3], none = LLVMAppendBasicBlockInContext(c->llc, self, "none");
    for (int l = 0; l < c->nlevels; l++) {
      on[l] = LLVMAppendBasicBlockInContext(c->llc, self, "level");
      LLVMPositionBuilderAtEnd(c->b, on[l]);
      LLVMBuildRet(c->b, cg_cstring(c, s->levels[l].cpu));
    }
    LLVMPositionBuilderAtEnd(c->b, none);
    LLVMBuildRet(c->b, LLVMConstNull(c->t_ptr));
    LLVMPositionBuilderAtEnd(c->b, entry);
    select_level(c, self, on, none);
    f->missing_features = missf;
    f->selected_cpu = self;
  }
  /* What the code needs: on x86-64 the checked list of the lowest level;
   * elsewhere the feature string as given (recorded, not checked). */
  f->needs = s->levels[0].need.x86 ? s->levels[0].need.text : s->levels[0].features;
  f->cpu = s->portable ? CG_CPU_PORTABLE : s->levels[0].cpu;
  return true;
}

static bool cpu_finish(cg_ctx *c) {
  cg_runtime_internalize(c);
  return c->o->jit ? cg_cpu_jit_prepare(c) : true;
}

static bool cpu_device_images(cg_ctx *c, cg_images *imgs) {
  (void)c, (void)imgs;
  return true; /* everything is in the host module */
}

static void cpu_destroy(cg_ctx *c) {
  free(c->be);
  c->be = NULL;
}

const cg_backend cg_cpu_backend = {
    .name = "cpu",
    .serves = cpu_serves,
    .describe = cpu_describe,
    .setup = cpu_setup,
    .module_init = cpu_module_init,
    .set_level = cg_set_level,
    .fn_attrs = cg_cpu_fn_attrs,
    .math_call = cpu_math_call,
    .emit_kernel = cpu_emit_kernel,
    .new_run = cpu_new_run,
    .emit_launch = cpu_emit_launch,
    .export_run = cpu_export_run,
    .artifact_fns = cpu_artifact_fns,
    .finish = cpu_finish,
    .device_images = cpu_device_images,
    .destroy = cpu_destroy,
};
