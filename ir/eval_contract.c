/*
 * Reference interpreter: dot and convolution.
 *
 * Both are reduced to one matrix product kernel. Operands are first loaded
 * into 8-byte words (doubles for float types, 64-bit patterns for integers)
 * and rearranged into canonical orders, so the inner loops never switch on
 * the element type:
 *   dot:         A[batch][m][k] x B[batch][k][n] -> C[batch][m][n], which is
 *                already the result's row-major order;
 *   convolution: input [N][C][spatial], kernel [O][I][spatial]; for each
 *                batch element and feature group the input is unrolled
 *                (im2col) into [I*window][positions] in blocks of output
 *                positions, and the kernel rows of the group multiply it.
 * Floats accumulate in double and integers in 64 bits (wrapping), in
 * increasing contraction index order; the result is rounded or wrapped once
 * when stored. Padding and dilation holes read as zero.
 */
#include <stdlib.h>
#include <string.h>

#include "ir/eval_internal.h"

/* C[i][j] += sum_k A[i][k] * B[k][j]; row strides lda, ldb, ldc. Blocked
 * over j and k so a tile of B stays in cache; each C[i][j] still sums over
 * k in increasing order. */
#define GEMM_NB 256
#define GEMM_KB 128
static void gemm_f64(int64_t M, int64_t N, int64_t K, const double *A, int64_t lda, const double *B, int64_t ldb,
                     double *C, int64_t ldc) {
  for (int64_t jb = 0; jb < N; jb += GEMM_NB) {
    int64_t jn = N - jb < GEMM_NB ? N - jb : GEMM_NB;
    for (int64_t kb = 0; kb < K; kb += GEMM_KB) {
      int64_t kn = K - kb < GEMM_KB ? K - kb : GEMM_KB;
      for (int64_t i = 0; i < M; i++) {
        double *restrict c = C + i * ldc + jb;
        for (int64_t k = kb; k < kb + kn; k++) {
          const double a = A[i * lda + k];
          const double *restrict b = B + k * ldb + jb;
          int64_t j = 0;
          for (; j + 4 <= jn; j += 4) {
            c[j] += a * b[j];
            c[j + 1] += a * b[j + 1];
            c[j + 2] += a * b[j + 2];
            c[j + 3] += a * b[j + 3];
          }
          for (; j < jn; j++) c[j] += a * b[j];
        }
      }
    }
  }
}

static void gemm_u64(int64_t M, int64_t N, int64_t K, const uint64_t *A, int64_t lda, const uint64_t *B, int64_t ldb,
                     uint64_t *C, int64_t ldc) {
  for (int64_t i = 0; i < M; i++)
    for (int64_t k = 0; k < K; k++) {
      const uint64_t a = A[i * lda + k];
      const uint64_t *restrict b = B + k * ldb;
      uint64_t *restrict c = C + i * ldc;
      for (int64_t j = 0; j < N; j++) c[j] += a * b[j];
    }
}

/* Loads an operand as 8-byte words: doubles for floats, else 64-bit patterns. */
static void *load_words(const ev_array *a, bool fl) {
  return fl ? (void *)ev_load_all_f64(a) : (void *)ev_load_all_u64(a);
}

/* Rearranges a row-major array of 8-byte words so that result dimension i is
 * source dimension perm[i]; returns a malloc'd array or NULL. */
static void *permute_words(const void *src, const ir_shape *s, const int64_t *perm) {
  int64_t n = ir_shape_elements(s), sst[IR_MAX_RANK], pst[IR_MAX_RANK], dims[IR_MAX_RANK], dst[IR_MAX_RANK];
  void *p = malloc(ev_nz(n) * 8);
  if (!p) return NULL;
  ir_shape_strides(s, sst);
  for (int i = 0; i < s->rank; i++) {
    dims[i] = s->dims[perm[i]];
    pst[i] = sst[perm[i]];
  }
  int64_t st = 1;
  for (int i = s->rank - 1; i >= 0; i--) {
    dst[i] = st;
    st *= dims[i];
  }
  ev_copy_nd(8, s->rank, dims, p, 0, dst, src, 0, pst);
  return p;
}

static void store_words(ev_array *out, const void *c, bool fl) {
  if (fl) ev_store_f64(out->shape.type, out->data, 0, out->n, c);
  else ev_store_u64(out->shape.type, out->data, 0, out->n, c, true);
}

bool ev_dot(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out) {
  const ir_dot_dims *dd = in->a.dot;
  const ev_array *x = &ops[0], *y = &ops[1];
  bool fl = ir_type_is_float(x->shape.type);
  /* lhs as [batch, free, contract], rhs as [batch, contract, free]. */
  int64_t lp[IR_MAX_RANK], rp[IR_MAX_RANK], B = 1, M = 1, N = 1, K = 1;
  int nl = 0, nr = 0;
  for (int i = 0; i < dd->nbatch; i++) {
    lp[nl++] = dd->lhs_batch[i];
    rp[nr++] = dd->rhs_batch[i];
    B *= x->shape.dims[dd->lhs_batch[i]];
  }
  for (int i = 0; i < x->shape.rank; i++)
    if (!ir_dims_has(dd->lhs_batch, dd->nbatch, i) && !ir_dims_has(dd->lhs_contract, dd->ncontract, i)) {
      lp[nl++] = i;
      M *= x->shape.dims[i];
    }
  for (int i = 0; i < dd->ncontract; i++) {
    lp[nl++] = dd->lhs_contract[i];
    rp[nr++] = dd->rhs_contract[i];
    K *= x->shape.dims[dd->lhs_contract[i]];
  }
  for (int i = 0; i < y->shape.rank; i++)
    if (!ir_dims_has(dd->rhs_batch, dd->nbatch, i) && !ir_dims_has(dd->rhs_contract, dd->ncontract, i)) {
      rp[nr++] = i;
      N *= y->shape.dims[i];
    }
  void *xw = load_words(x, fl), *yw = load_words(y, fl);
  void *a = xw ? permute_words(xw, &x->shape, lp) : NULL;
  void *b = yw ? permute_words(yw, &y->shape, rp) : NULL;
  void *c = calloc(ev_nz(out->n), 8);
  free(xw), free(yw);
  if (!a || !b || !c) {
    free(a), free(b), free(c);
    return ev_fail(ctx, in, "out of memory");
  }
  for (int64_t bi = 0; bi < B; bi++) {
    if (fl)
      gemm_f64(M, N, K, (const double *)a + bi * M * K, K, (const double *)b + bi * K * N, N, (double *)c + bi * M * N,
               N);
    else
      gemm_u64(M, N, K, (const uint64_t *)a + bi * M * K, K, (const uint64_t *)b + bi * K * N, N,
               (uint64_t *)c + bi * M * N, N);
  }
  store_words(out, c, fl);
  free(a), free(b), free(c);
  return true;
}

/* Words of the unrolled input a block may hold (16 MiB of 8-byte words). */
#define CONV_COL_WORDS ((int64_t)1 << 21)

bool ev_convolution(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out) {
  const ir_conv_dims *cd = in->conv;
  const ir_window *w = in->a.window;
  const ev_array *x = &ops[0], *kr = &ops[1];
  bool fl = ir_type_is_float(x->shape.type);
  int ns = cd->nspatial;
  int64_t G = in->index;
  int64_t NB = x->shape.dims[cd->in_batch], C = x->shape.dims[cd->in_feature];
  int64_t O = kr->shape.dims[cd->k_out], I = kr->shape.dims[cd->k_in], Og = O / G;

  /* Spatial extents; a convolution without spatial dimensions gets one
   * dimension of size 1 so the loops below need no special case. */
  int nd = ns ? ns : 1;
  int64_t S[IR_MAX_RANK], Kd[IR_MAX_RANK], P[IR_MAX_RANK];
  ir_window_dim wd[IR_MAX_RANK];
  for (int s = 0; s < nd; s++) {
    if (ns) {
      S[s] = x->shape.dims[cd->in_spatial[s]];
      Kd[s] = kr->shape.dims[cd->k_spatial[s]];
      P[s] = out->shape.dims[cd->out_spatial[s]];
      wd[s] = w->d[s];
    } else {
      S[s] = Kd[s] = P[s] = 1;
      wd[s] = (ir_window_dim){1, 1, 0, 0, 1, 1};
    }
  }
  int64_t SP = 1, KP = 1, PP = 1;
  for (int s = 0; s < nd; s++) SP *= S[s], KP *= Kd[s], PP *= P[s];
  int64_t R = I * KP; /* rows of the unrolled input: (input feature, window element) */

  /* Canonical orders: input [N][C][S...], kernel [O][I][K...]. */
  int64_t ip[IR_MAX_RANK], kp[IR_MAX_RANK], op[IR_MAX_RANK];
  ip[0] = cd->in_batch, ip[1] = cd->in_feature;
  kp[0] = cd->k_out, kp[1] = cd->k_in;
  op[0] = cd->out_batch, op[1] = cd->out_feature;
  for (int s = 0; s < ns; s++) ip[2 + s] = cd->in_spatial[s], kp[2 + s] = cd->k_spatial[s], op[2 + s] = cd->out_spatial[s];

  /* Positions per block: whole rows of the last spatial dimension. */
  int64_t last = P[nd - 1], outer_rows = PP / (last ? last : 1);
  int64_t rows_per_block = last && R ? CONV_COL_WORDS / R / last : outer_rows;
  if (rows_per_block < 1) rows_per_block = 1;
  if (rows_per_block > outer_rows) rows_per_block = outer_rows;
  int64_t block = rows_per_block * last;

  void *xw = load_words(x, fl), *kw = load_words(kr, fl);
  uint64_t *xin = xw ? permute_words(xw, &x->shape, ip) : NULL;
  uint64_t *kin = kw ? permute_words(kw, &kr->shape, kp) : NULL;
  free(xw), free(kw);
  uint64_t *col = malloc(ev_nz(R * block) * 8);
  void *acc = calloc(ev_nz(NB * O * PP), 8); /* [N][O][P...] */
  /* tab[s][p * K + k]: input index along s of output p, window element k,
   * or -1 for padding and lhs dilation holes. */
  int64_t *tab[IR_MAX_RANK] = {0};
  bool ok = xin && kin && col && acc;
  for (int s = 0; s < nd && ok; s++) ok = (tab[s] = ev_window_table(&wd[s], Kd[s], P[s], S[s])) != NULL;
  if (!ok) {
    for (int s = 0; s < nd; s++) free(tab[s]);
    free(xin), free(kin), free(col), free(acc);
    return ev_fail(ctx, in, "out of memory");
  }
  int64_t sst[IR_MAX_RANK]; /* strides of the canonical input's spatial dims */
  sst[nd - 1] = 1;
  for (int s = nd - 2; s >= 0; s--) sst[s] = sst[s + 1] * S[s + 1];

  for (int64_t n = 0; n < NB; n++)
    for (int64_t g = 0; g < G; g++)
      for (int64_t r0 = 0; r0 < outer_rows; r0 += rows_per_block) {
        int64_t nrows = outer_rows - r0 < rows_per_block ? outer_rows - r0 : rows_per_block;
        int64_t bw = nrows * last; /* columns in this block */
        /* Unroll: row (i, window element kk), column (outer row, x). */
        for (int64_t r = 0; r < R; r++) {
          int64_t i = r / KP, kk[IR_MAX_RANK], rem = r % KP;
          for (int s = nd - 1; s >= 0; s--) kk[s] = rem % Kd[s], rem /= Kd[s];
          const uint64_t *src = xin + (n * C + g * I + i) * SP;
          uint64_t *dst = col + r * bw;
          for (int64_t orow = 0; orow < nrows; orow++) {
            int64_t po = r0 + orow, base = 0;
            bool hit = true;
            for (int s = nd - 2; s >= 0; s--) { /* outer spatial dims of this row */
              int64_t ps = po % P[s];
              po /= P[s];
              int64_t xi = tab[s][ps * Kd[s] + kk[s]];
              hit = hit && xi >= 0;
              base += xi * sst[s];
            }
            uint64_t *d = dst + orow * last;
            const int64_t *tl = tab[nd - 1] + kk[nd - 1];
            int64_t kl = Kd[nd - 1];
            if (!hit) {
              memset(d, 0, (size_t)last * 8);
              continue;
            }
            for (int64_t p = 0; p < last; p++) {
              int64_t xi = tl[p * kl];
              d[p] = xi >= 0 ? src[base + xi] : 0; /* 0 is both +0.0 and integer 0 */
            }
          }
        }
        /* acc[n][g*Og + o][block] += kernel rows of group g x col. */
        int64_t cofs = (n * O + g * Og) * PP + r0 * last;
        if (fl)
          gemm_f64(Og, bw, R, (const double *)kin + g * Og * R, R, (const double *)col, bw, (double *)acc + cofs, PP);
        else
          gemm_u64(Og, bw, R, kin + g * Og * R, R, col, bw, (uint64_t *)acc + cofs, PP);
      }

  /* acc is [N][O][P...]; the result's dimension op[i] is acc's dimension i. */
  int64_t inv[IR_MAX_RANK];
  for (int i = 0; i < ns + 2; i++) inv[op[i]] = i;
  ir_shape cs = out->shape; /* the canonical accumulator shape */
  for (int i = 0; i < ns + 2; i++) cs.dims[i] = out->shape.dims[op[i]];
  void *res = permute_words(acc, &cs, inv);
  for (int s = 0; s < nd; s++) free(tab[s]);
  free(xin), free(kin), free(col), free(acc);
  if (!res) return ev_fail(ctx, in, "out of memory");
  store_words(out, res, fl);
  free(res);
  return true;
}
