/*
 * What passes may know about the target: a small description filled in by
 * whoever knows the target (the API from --target/--cpu/--features through
 * codegen's cg_target_describe; tests by hand), read by passes (fuse,
 * layout, buffers) and by the code generator, so that a fact such as "a
 * product of fewer than 8192 multiply-adds is not tiled" lives in one place
 * instead of a constant copied out of codegen.
 *
 * Nothing here depends on LLVM. ir_target_default() describes a generic
 * 64-bit CPU with 4-lane vectors: what a pass assumes when nobody said.
 */
#ifndef KILN_IR_TARGET_H
#define KILN_IR_TARGET_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/ir.h"

typedef enum ir_target_kind {
  IR_TARGET_CPU = 0,
  IR_TARGET_GPU = 1,
} ir_target_kind;

/* The activation layout a target's convolution kernels read best. */
typedef enum ir_conv_layout {
  IR_CONV_NCHW = 0, /* batch, feature, spatial... (ONNX's order) */
  IR_CONV_NHWC = 1, /* batch, spatial..., feature */
} ir_conv_layout;

typedef struct ir_target {
  ir_target_kind kind;
  char triple[96];  /* normalized target triple */
  char cpu[64];     /* CPU name codegen uses ("portable": several levels in one artifact) */
  char isa[32];     /* short name of the vector ISA decisions follow: "avx512", "avx2", "sse", "neon", "generic" */
  int vec_f32;      /* f32 lanes of one vector register: 16 (AVX-512), 8 (AVX2+FMA), 4 (otherwise) */
  int vec_regs;     /* architectural vector registers: 32 (AVX-512, AArch64), 16 (AVX2, SSE) */
  bool fma;         /* fused multiply-add in the vector unit */
  /* The tiled GEMM kernel (dot and convolution): a register tile of
   * gemm_mr rows x gemm_nv vectors of vec_f32 lanes, used for products of
   * at least gemm_min_macs multiply-adds. */
  int gemm_mr, gemm_nv;
  double gemm_min_macs;
  /* Constant GEMM operands (weights) may be stored in the kernel's packed
   * layout at compile time. False where one artifact holds code for
   * several vector widths (--cpu=portable): every level then packs at run
   * time from one copy of the weights. */
  bool prepack_weights;
  ir_conv_layout conv_layout; /* the activation layout the convolution kernels read */
} ir_target;

/* A generic 64-bit CPU with 4-lane f32 vectors (x86-64 SSE-like): what
 * passes assume when no description was given. */
void ir_target_default(ir_target *t);
/* The same description as a read-only object (what pass_target returns
 * when a pass was given none). */
extern const ir_target ir_target_generic;

/* One line ("x86_64-pc-linux-gnu znver3 avx2: 8 f32 lanes, 16 registers,
 * FMA, GEMM tile 6x2, min 8192 MACs, prepacked weights, NCHW") into buf
 * (n bytes, cut to fit); returns buf. */
const char *ir_target_str(const ir_target *t, char *buf, int n);

/* The tiled GEMM's register tile for C[M,N] = A[M,K]·B[K,N] (a dot, or a
 * convolution with A its kernel [Cout, Cin·taps] and B the patches):
 * A is packed in panels of aw rows, [panel][k][aw]; B in panels of bw
 * columns, each row padded to bld floats, [panel][k][bld]. */
typedef struct ir_gemm_tiling {
  int vw, mr, nv; /* f32 lanes; the normal tile: mr rows x nv vectors */
  bool swap;      /* transposed tile: vectors along M, B broadcast */
  int aw, bw, bld;
  int swap_bw;    /* the transposed tile's B panel width, taken or not */
} ir_gemm_tiling;

/* ir/target_gemm.c: the one tile rule that the layout pass and the CPU
 * GEMM share. False (out still filled with the normal tile) when the
 * product is too small for the tiled kernel (under t->gemm_min_macs) or
 * empty. allow_swap = false forbids the transposed tile. */
bool ir_gemm_tile(const ir_target *t, int64_t M, int64_t N, int64_t K, bool conv, bool allow_swap, ir_gemm_tiling *out);

/* A dot or convolution seen as the tiled GEMM's batch of products
 * C[M,N] = A[M,K]·B[K,N] (ir/target_gemm.c): the one reading that the
 * layout pass and the CPU GEMM (codegen/cpu/cg_gemm.c) share.
 *   dot:          A = lhs, rows its free dims; B = rhs, columns its free
 *                 dims; k the contracted dims; batch the batch dims.
 *   convolution:  A = the kernel, rows the output features of a group;
 *                 B = the input, columns the output positions; k = (input
 *                 feature of the group, taps...); batch = images x groups. */
typedef struct ir_gemm_dims {
  bool conv;
  int a, b;               /* operand index (0, 1) of A and B in the instruction */
  int64_t M, N, K;
  int64_t batch, abatch;  /* products; distinct A matrices among them (dot: batch, convolution: groups) */
  /* a dot: dimension numbers (in its operands) and sizes; k's in k's order */
  int nb, nlf, nrf, nk;
  int64_t bdim_l[IR_MAX_RANK], bdim_r[IR_MAX_RANK], bsz[IR_MAX_RANK];
  int64_t lf[IR_MAX_RANK], lfsz[IR_MAX_RANK], rf[IR_MAX_RANK], rfsz[IR_MAX_RANK];
  int64_t kl[IR_MAX_RANK], kr[IR_MAX_RANK], ksz[IR_MAX_RANK];
  /* a convolution: k = (input feature, tap...), n = (output position...) */
  int64_t groups, cin_g;
  int ns;
  int64_t taps[IR_MAX_RANK + 1], opos[IR_MAX_RANK];
} ir_gemm_dims;

/* Reads the dot or convolution `in` (operand shapes x, y) as a GEMM into
 * out. Returns NULL, or why the tiled GEMM does not take it (a result not
 * NCHW-like; a grouped convolution with under 4 output features per
 * group, which the row kernel takes). Types and layouts are the caller's
 * to check. */
const char *ir_gemm_dims_of(const ir_inst *in, const ir_shape *x, const ir_shape *y, ir_gemm_dims *out);

/* How the CPU GEMM's im2col reads B of a convolution gd (ir_gemm_dims_of
 * of `in`, input shape x) with vectors of vec_f32 lanes:
 *   flat        a 2-D convolution of an NCHW input without input dilation,
 *               sizes under 2^30: the vectorised im2col applies (if the
 *               input is also in its default layout: the caller checks);
 *   contiguous  its output rows are its input rows (stride 1, OW = W);
 *   rowvec      flat, not contiguous, and each vector of output positions
 *               lies in one output row (OW a multiple of vec_f32) at
 *               column stride 1 or 2: it loads input row spans, which
 *               needs vector-aligned B panels (no transposed tile).
 * All false for a dot. */
typedef struct ir_gemm_im2col {
  bool flat, contiguous, rowvec;
} ir_gemm_im2col;
ir_gemm_im2col ir_gemm_im2col_of(const ir_inst *in, const ir_shape *x, const ir_gemm_dims *gd, int vec_f32);

#endif
