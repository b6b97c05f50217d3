/*
 * The one table of ONNX operator versions: for every operator of the ai.onnx
 * domain up to OX_MAX_OPSET, the opsets that gave it a new version (its
 * since_versions), whether the spec deprecates it, and, for operators kiln
 * does not lower, why. The importer reads it to find which version of an op
 * a model's opset selects (and refuses versions newer than a lowering
 * implements, see ox_op.max_version); docs/onnx-ops.md is generated from it
 * and the ox_op rows (`kiln onnx-ops --markdown`).
 *
 * Sources: opsets 1 to 17 are exactly the schemas of onnx 1.12
 * (onnx.defs.get_all_schemas_with_history); 18 to 22 the per-opset lists
 * of onnx/defs/operator_sets.h; 23 to 25 the operator lists of the ONNX
 * 1.18, 1.19 and 1.20 release notes (opset 23: Attention, RMSNormalization,
 * RotaryEmbedding and the FLOAT4E2M1 type; 24: Swish, TensorScatter,
 * Attention-24, FLOAT8E8M0, bfloat16 TopK/SplitToSequence; 25: INT2/UINT2);
 * 26 (ONNX 1.21) adds BitCast and CumProd and changes no other op (ONNX's
 * operator_sets.h lists exactly those two for opset 26; ONNX 1.21's
 * integer-Div wording is a clarification, not a new version).
 * A new opset means a new row entry here, then a look at each changed op.
 */
#include <stdio.h>
#include <string.h>

#include "frontend/onnx/ox.h"
#include "ir/strbuf.h"

#define STR OX_WHY_STRINGS
#define RND OX_WHY_RANDOM
#define IMG OX_WHY_IMAGE
#define BITS OX_WHY_BITCAST
#define TODO OX_WHY_NOT_YET

/* Sorted by name in strcmp order (ox_spec_find searches it by halves; the
 * test onnx/op_versions checks the order). The reason applies only while no
 * ox_op row lowers the op: TODO is "not yet implemented". */
const ox_spec_op ox_spec_ops[] = {
    {"Abs", {1, 6, 13}, TODO, false},
    {"Acos", {7, 22}, TODO, false},
    {"Acosh", {9, 22}, TODO, false},
    {"Add", {1, 6, 7, 13, 14}, TODO, false},
    {"AffineGrid", {20}, TODO, false},
    {"And", {1, 7}, TODO, false},
    {"ArgMax", {1, 11, 12, 13}, TODO, false},
    {"ArgMin", {1, 11, 12, 13}, TODO, false},
    {"Asin", {7, 22}, TODO, false},
    {"Asinh", {9, 22}, TODO, false},
    {"Atan", {7, 22}, TODO, false},
    {"Atanh", {9, 22}, TODO, false},
    {"Attention", {23, 24}, TODO, false},
    {"AveragePool", {1, 7, 10, 11, 19, 22}, TODO, false},
    {"BatchNormalization", {1, 6, 7, 9, 14, 15}, TODO, false},
    {"Bernoulli", {15, 22}, RND, false},
    {"BitCast", {26}, BITS, false},
    {"BitShift", {11}, TODO, false},
    {"BitwiseAnd", {18}, TODO, false},
    {"BitwiseNot", {18}, TODO, false},
    {"BitwiseOr", {18}, TODO, false},
    {"BitwiseXor", {18}, TODO, false},
    {"BlackmanWindow", {17}, TODO, false},
    {"Cast", {1, 6, 9, 13, 19, 21, 23, 24, 25}, TODO, false},
    {"CastLike", {15, 19, 21, 23, 24, 25}, TODO, false},
    {"Ceil", {1, 6, 13}, TODO, false},
    {"Celu", {12}, TODO, false},
    {"CenterCropPad", {18}, TODO, false},
    {"Clip", {1, 6, 11, 12, 13}, TODO, false},
    {"Col2Im", {18}, TODO, false},
    {"Compress", {9, 11}, TODO, false},
    {"Concat", {1, 4, 11, 13}, TODO, false},
    {"ConcatFromSequence", {11}, TODO, false},
    {"Constant", {1, 9, 11, 12, 13, 19, 21, 23, 24, 25}, TODO, false},
    {"ConstantOfShape", {9, 20, 21, 23, 24, 25}, TODO, false},
    {"Conv", {1, 11, 22}, TODO, false},
    {"ConvInteger", {10}, TODO, false},
    {"ConvTranspose", {1, 11, 22}, TODO, false},
    {"Cos", {7, 22}, TODO, false},
    {"Cosh", {9, 22}, TODO, false},
    {"CumProd", {26}, TODO, false},
    {"CumSum", {11, 14}, TODO, false},
    {"DFT", {17, 20}, TODO, false},
    {"DeformConv", {19, 22}, TODO, false},
    {"DepthToSpace", {1, 11, 13}, TODO, false},
    {"DequantizeLinear", {10, 13, 19, 21, 23, 24, 25}, TODO, false},
    {"Det", {11, 22}, TODO, false},
    {"Div", {1, 6, 7, 13, 14}, TODO, false},
    {"Dropout", {1, 6, 7, 10, 12, 13, 22}, TODO, false},
    {"DynamicQuantizeLinear", {11}, TODO, false},
    {"Einsum", {12}, TODO, false},
    {"Elu", {1, 6, 22}, TODO, false},
    {"Equal", {1, 7, 11, 13, 19}, TODO, false},
    {"Erf", {9, 13}, TODO, false},
    {"Exp", {1, 6, 13}, TODO, false},
    {"Expand", {8, 13}, TODO, false},
    {"EyeLike", {9, 22}, TODO, false},
    {"Flatten", {1, 9, 11, 13, 21, 23, 24, 25}, TODO, false},
    {"Floor", {1, 6, 13}, TODO, false},
    {"GRU", {1, 3, 7, 14, 22}, TODO, false},
    {"Gather", {1, 11, 13}, TODO, false},
    {"GatherElements", {11, 13}, TODO, false},
    {"GatherND", {11, 12, 13}, TODO, false},
    {"Gelu", {20}, TODO, false},
    {"Gemm", {1, 6, 7, 9, 11, 13}, TODO, false},
    {"GlobalAveragePool", {1, 22}, TODO, false},
    {"GlobalLpPool", {1, 2, 22}, TODO, false},
    {"GlobalMaxPool", {1, 22}, TODO, false},
    {"Greater", {1, 7, 9, 13}, TODO, false},
    {"GreaterOrEqual", {12, 16}, TODO, false},
    {"GridSample", {16, 20, 22}, TODO, false},
    {"GroupNormalization", {18, 21}, TODO, false},
    {"HammingWindow", {17}, TODO, false},
    {"HannWindow", {17}, TODO, false},
    {"HardSigmoid", {1, 6, 22}, TODO, false},
    {"HardSwish", {14, 22}, TODO, false},
    {"Hardmax", {1, 11, 13}, TODO, false},
    {"Identity", {1, 13, 14, 16, 19, 21, 23, 24, 25}, TODO, false},
    {"If", {1, 11, 13, 16, 19, 21, 23, 24, 25}, TODO, false},
    {"ImageDecoder", {20}, IMG, false},
    {"InstanceNormalization", {1, 6, 22}, TODO, false},
    {"IsInf", {10, 20}, TODO, false},
    {"IsNaN", {9, 13, 20}, TODO, false},
    {"LRN", {1, 13}, TODO, false},
    {"LSTM", {1, 7, 14, 22}, TODO, false},
    {"LayerNormalization", {17}, TODO, false},
    {"LeakyRelu", {1, 6, 16}, TODO, false},
    {"Less", {1, 7, 9, 13}, TODO, false},
    {"LessOrEqual", {12, 16}, TODO, false},
    {"Log", {1, 6, 13}, TODO, false},
    {"LogSoftmax", {1, 11, 13}, TODO, false},
    {"Loop", {1, 11, 13, 16, 19, 21, 23, 24, 25}, TODO, false},
    {"LpNormalization", {1, 22}, TODO, false},
    {"LpPool", {1, 2, 11, 18, 22}, TODO, false},
    {"MatMul", {1, 9, 13}, TODO, false},
    {"MatMulInteger", {10}, TODO, false},
    {"Max", {1, 6, 8, 12, 13}, TODO, false},
    {"MaxPool", {1, 8, 10, 11, 12, 22}, TODO, false},
    {"MaxRoiPool", {1, 22}, TODO, false},
    {"MaxUnpool", {9, 11, 22}, TODO, false},
    {"Mean", {1, 6, 8, 13}, TODO, false},
    {"MeanVarianceNormalization", {9, 13}, TODO, false},
    {"MelWeightMatrix", {17}, TODO, false},
    {"Min", {1, 6, 8, 12, 13}, TODO, false},
    {"Mish", {18, 22}, TODO, false},
    {"Mod", {10, 13}, TODO, false},
    {"Mul", {1, 6, 7, 13, 14}, TODO, false},
    {"Multinomial", {7, 22}, RND, false},
    {"Neg", {1, 6, 13}, TODO, false},
    {"NegativeLogLikelihoodLoss", {12, 13, 22}, TODO, false},
    {"NonMaxSuppression", {10, 11}, TODO, false},
    {"NonZero", {9, 13}, TODO, false},
    {"Not", {1}, TODO, false},
    {"OneHot", {9, 11}, TODO, false},
    {"Optional", {15}, TODO, false},
    {"OptionalGetElement", {15, 18}, TODO, false},
    {"OptionalHasElement", {15, 18}, TODO, false},
    {"Or", {1, 7}, TODO, false},
    {"PRelu", {1, 6, 7, 9, 16}, TODO, false},
    {"Pad", {1, 2, 11, 13, 18, 19, 21, 23, 24, 25}, TODO, false},
    {"Pow", {1, 7, 12, 13, 15}, TODO, false},
    {"QLinearConv", {10}, TODO, false},
    {"QLinearMatMul", {10, 21}, TODO, false},
    {"QuantizeLinear", {10, 13, 19, 21, 23, 24, 25}, TODO, false},
    {"RMSNormalization", {23}, TODO, false},
    {"RNN", {1, 7, 14, 22}, TODO, false},
    {"RandomNormal", {1, 22}, RND, false},
    {"RandomNormalLike", {1, 22}, RND, false},
    {"RandomUniform", {1, 22}, RND, false},
    {"RandomUniformLike", {1, 22}, RND, false},
    {"Range", {11}, TODO, false},
    {"Reciprocal", {1, 6, 13}, TODO, false},
    {"ReduceL1", {1, 11, 13, 18}, TODO, false},
    {"ReduceL2", {1, 11, 13, 18}, TODO, false},
    {"ReduceLogSum", {1, 11, 13, 18}, TODO, false},
    {"ReduceLogSumExp", {1, 11, 13, 18}, TODO, false},
    {"ReduceMax", {1, 11, 12, 13, 18, 20}, TODO, false},
    {"ReduceMean", {1, 11, 13, 18}, TODO, false},
    {"ReduceMin", {1, 11, 12, 13, 18, 20}, TODO, false},
    {"ReduceProd", {1, 11, 13, 18}, TODO, false},
    {"ReduceSum", {1, 11, 13}, TODO, false},
    {"ReduceSumSquare", {1, 11, 13, 18}, TODO, false},
    {"RegexFullMatch", {20}, STR, false},
    {"Relu", {1, 6, 13, 14}, TODO, false},
    {"Reshape", {1, 5, 13, 14, 19, 21, 23, 24, 25}, TODO, false},
    {"Resize", {10, 11, 13, 18, 19}, TODO, false},
    {"ReverseSequence", {10}, TODO, false},
    {"RoiAlign", {10, 16, 22}, TODO, false},
    {"RotaryEmbedding", {23}, TODO, false},
    {"Round", {11, 22}, TODO, false},
    {"STFT", {17}, TODO, false},
    {"Scan", {8, 9, 11, 16, 19, 21, 23, 24, 25}, TODO, false},
    {"Scatter", {9, 11}, TODO, true},
    {"ScatterElements", {11, 13, 16, 18}, TODO, false},
    {"ScatterND", {11, 13, 16, 18}, TODO, false},
    {"Selu", {1, 6, 22}, TODO, false},
    {"SequenceAt", {11}, TODO, false},
    {"SequenceConstruct", {11}, TODO, false},
    {"SequenceEmpty", {11}, TODO, false},
    {"SequenceErase", {11}, TODO, false},
    {"SequenceInsert", {11}, TODO, false},
    {"SequenceLength", {11}, TODO, false},
    {"SequenceMap", {17}, TODO, false},
    {"Shape", {1, 13, 15, 19, 21, 23, 24, 25}, TODO, false},
    {"Shrink", {9}, TODO, false},
    {"Sigmoid", {1, 6, 13}, TODO, false},
    {"Sign", {9, 13}, TODO, false},
    {"Sin", {7, 22}, TODO, false},
    {"Sinh", {9, 22}, TODO, false},
    {"Size", {1, 13, 19, 21, 23, 24, 25}, TODO, false},
    {"Slice", {1, 10, 11, 13}, TODO, false},
    {"Softmax", {1, 11, 13}, TODO, false},
    {"SoftmaxCrossEntropyLoss", {12, 13}, TODO, false},
    {"Softplus", {1, 22}, TODO, false},
    {"Softsign", {1, 22}, TODO, false},
    {"SpaceToDepth", {1, 13}, TODO, false},
    {"Split", {1, 2, 11, 13, 18}, TODO, false},
    {"SplitToSequence", {11, 24}, TODO, false},
    {"Sqrt", {1, 6, 13}, TODO, false},
    {"Squeeze", {1, 11, 13, 21, 23, 24, 25}, TODO, false},
    {"StringConcat", {20}, STR, false},
    {"StringNormalizer", {10}, STR, false},
    {"StringSplit", {20}, STR, false},
    {"Sub", {1, 6, 7, 13, 14}, TODO, false},
    {"Sum", {1, 6, 8, 13}, TODO, false},
    {"Swish", {24}, TODO, false},
    {"Tan", {7, 22}, TODO, false},
    {"Tanh", {1, 6, 13}, TODO, false},
    {"TensorScatter", {24}, TODO, false},
    {"TfIdfVectorizer", {9}, STR, false},
    {"ThresholdedRelu", {10, 22}, TODO, false},
    {"Tile", {1, 6, 13}, TODO, false},
    {"TopK", {1, 10, 11, 24}, TODO, false},
    {"Transpose", {1, 13, 21, 23, 24, 25}, TODO, false},
    {"Trilu", {14}, TODO, false},
    {"Unique", {11}, TODO, false},
    {"Unsqueeze", {1, 11, 13, 21, 23, 24, 25}, TODO, false},
    {"Upsample", {1, 7, 9, 10}, TODO, true},
    {"Where", {9, 16}, TODO, false},
    {"Xor", {1, 7}, TODO, false},
    {0},
};

#undef STR
#undef RND
#undef IMG
#undef TODO
#undef BITS

const ox_spec_op *ox_spec_find(const char *op_type) {
  size_t lo = 0, hi = sizeof ox_spec_ops / sizeof ox_spec_ops[0] - 1; /* less the {0} */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(op_type, ox_spec_ops[mid].op_type);
    if (!c) return &ox_spec_ops[mid];
    if (c < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  return NULL;
}

int ox_spec_version_at(const ox_spec_op *s, int opset) {
  int v = 0;
  for (int i = 0; i < OX_SPEC_VERSIONS && s->versions[i]; i++)
    if (s->versions[i] <= opset) v = s->versions[i];
  return v;
}

int ox_op_max_version(const ox_op *op, const ox_spec_op *s) {
  if (op->max_version) return op->max_version;
  return s ? ox_spec_version_at(s, 17) : 0;
}

const char *ox_why_text(ox_why why) {
  switch (why) {
  case OX_WHY_STRINGS: return "string tensors";
  case OX_WHY_RANDOM: return "random generator";
  case OX_WHY_DATA_SHAPE: return "output shape depends on input values";
  case OX_WHY_IMAGE: return "image file decoding";
  case OX_WHY_BITCAST: return "bit reinterpretation: the IR has no bitcast op";
  case OX_WHY_NOT_YET: break;
  }
  return "not yet implemented";
}

/* ---- docs/onnx-ops.md ---- */

/* The opsets in which op (whose spec entry is s) imports: from its
 * min_opset up to the opset before the first version newer than the one it
 * implements. Returns the last such opset (OX_MAX_OPSET when open-ended). */
static int last_opset(const ox_op *op, const ox_spec_op *s) {
  int limit = ox_op_max_version(op, s);
  for (int i = 0; i < OX_SPEC_VERSIONS && s->versions[i]; i++)
    if (s->versions[i] > limit) return s->versions[i] - 1;
  return OX_MAX_OPSET;
}

static void put_versions(strbuf *b, const ox_spec_op *s, int from, int to) {
  bool first = true;
  for (int i = 0; i < OX_SPEC_VERSIONS && s->versions[i]; i++) {
    int v = s->versions[i];
    if (v > to || (i + 1 < OX_SPEC_VERSIONS && s->versions[i + 1] && s->versions[i + 1] <= from)) continue;
    sb_printf(b, "%s%d", first ? "" : ", ", v);
    first = false;
  }
  if (first) sb_puts(b, "-");
}

char *onnx_ops_markdown(void) {
  strbuf b;
  sb_init(&b);
  int nspec = 0, nimpl = 0;
  for (const ox_spec_op *s = ox_spec_ops; s->op_type; s++) {
    nspec++;
    if (ox_find_op(s->op_type)) nimpl++;
  }
  sb_puts(&b, "# ONNX operators\n\n"
              "<!-- Generated by `kiln onnx-ops --markdown` from the importer's own tables\n"
              "     (frontend/onnx/versions.c and the ox_op rows of frontend/onnx/ops_*.c).\n"
              "     Do not edit: the test onnx/ops_doc fails when this file is stale. -->\n\n");
  sb_printf(&b,
            "kiln imports models that declare ai.onnx opset %d to %d (IR versions %d to %d). Each operator\n"
            "imports at the opsets listed: from the first opset kiln lowers it at, up to the opset\n"
            "before the first version of it whose semantics kiln does not implement. A model whose\n"
            "opset selects a newer version of an operator is refused, naming both versions.\n\n"
            "%d of the %d operators of the ai.onnx domain are lowered. See\n"
            "[onnx-import.md](onnx-import.md) for what else the importer checks.\n\n",
            OX_MIN_MODEL_OPSET, OX_MAX_OPSET, OX_MIN_IR_VERSION, OX_MAX_IR_VERSION, nimpl, nspec);
  sb_puts(&b, "| operator | versions (since opset) | kiln imports | versions imported | notes |\n"
              "|---|---|---|---|---|\n");
  for (const ox_spec_op *s = ox_spec_ops; s->op_type; s++) {
    const ox_op *op = ox_find_op(s->op_type);
    sb_printf(&b, "| %s | ", s->op_type);
    put_versions(&b, s, 0, 1000);
    if (op) {
      int last = last_opset(op, s);
      if (last == OX_MAX_OPSET)
        sb_printf(&b, " | opset %d and later | ", op->min_opset);
      else
        sb_printf(&b, " | opsets %d to %d | ", op->min_opset, last);
      put_versions(&b, s, op->min_opset, ox_op_max_version(op, s));
      sb_puts(&b, " | ");
      if (last != OX_MAX_OPSET) {
        sb_puts(&b, "newer versions refused: ");
        bool first = true;
        for (int i = 0; i < OX_SPEC_VERSIONS && s->versions[i]; i++)
          if (s->versions[i] > last) {
            sb_printf(&b, "%s%d", first ? "" : ", ", s->versions[i]);
            first = false;
          }
        if (s->deprecated) sb_puts(&b, "; ");
      }
    } else {
      sb_printf(&b, " | no | - | %s", ox_why_text(s->why));
      if (s->deprecated) sb_puts(&b, "; ");
    }
    if (s->deprecated) sb_puts(&b, "deprecated by the spec");
    sb_puts(&b, " |\n");
  }
  /* Mistakes in the tables, shown so that the test onnx/op_versions fails
   * on them: a lowering registered under a name the spec table lacks (a
   * typo, or a newer op whose versions were not added), or a max_version
   * that is no version of the op, or older than the version at opset 17
   * (which would refuse models kiln imported before). */
  bool problems = false;
  for (size_t i = 0; ox_op_index(i); i++) {
    const ox_op *op = ox_op_index(i);
    const ox_spec_op *s = ox_spec_find(op->op_type);
    char what[160] = "";
    if (!s) {
      snprintf(what, sizeof what, "lowered but missing from the version table");
    } else if (op->max_version) {
      bool known = false;
      for (int k = 0; k < OX_SPEC_VERSIONS && s->versions[k]; k++) known |= s->versions[k] == op->max_version;
      if (!known)
        snprintf(what, sizeof what, "max_version %d is not a version of the op", op->max_version);
      else if (op->max_version < ox_spec_version_at(s, 17))
        snprintf(what, sizeof what, "max_version %d is older than the version at opset 17 (%d)", op->max_version,
                 ox_spec_version_at(s, 17));
    }
    if (!what[0]) continue;
    if (!problems) sb_puts(&b, "\nProblems in the tables (frontend/onnx/versions.c, the ox_op rows):\n\n");
    problems = true;
    sb_printf(&b, "- %s: %s\n", op->op_type, what);
  }
  return sb_finish(&b);
}
