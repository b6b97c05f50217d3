/*
 * Safe decoding of ONNX protobuf messages.
 *
 * protobuf-c recurses once per nested message with no depth limit, and it
 * silently cuts strings at a NUL byte. Before unpacking, a schema-aware scan
 * of the wire format therefore checks that
 *   - the encoding is well formed (tags, varints, lengths within bounds),
 *   - messages nest at most OX_MAX_DEPTH deep,
 *   - the string fields kiln uses as identifiers hold no NUL byte.
 * Only then is the message handed to protobuf-c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/onnx/ox.h"

#define OX_MAX_DEPTH 48

/* Message kinds of the schema walk. */
enum {
  M_NONE, M_MODEL, M_GRAPH, M_NODE, M_ATTR, M_TENSOR, M_SPARSE, M_VALUEINFO, M_TYPE, M_TYPE_TENSOR, M_TYPE_SEQ,
  M_TYPE_MAP, M_TYPE_OPT, M_SHAPE, M_DIM, M_OPSET, M_SSE, M_TRAINING, M_FUNCTION, M_ANNOTATION, M_SEGMENT,
};

/* For a length-delimited field: the message kind it holds, M_NONE for bytes,
 * or -1 for a string that must not contain NUL. */
static int field_kind(int msg, uint32_t f) {
  switch (msg) {
    case M_MODEL:
      switch (f) {
        case 7: return M_GRAPH;
        case 8: return M_OPSET;
        case 14: return M_SSE;
        case 20: return M_TRAINING;
        case 25: return M_FUNCTION;
      }
      break;
    case M_GRAPH:
      switch (f) {
        case 1: return M_NODE;
        case 2: return -1;
        case 5: return M_TENSOR;
        case 15: return M_SPARSE;
        case 11: case 12: case 13: return M_VALUEINFO;
        case 14: return M_ANNOTATION;
      }
      break;
    case M_NODE:
      switch (f) {
        case 1: case 2: case 3: case 4: case 7: return -1;
        case 5: return M_ATTR;
      }
      break;
    case M_ATTR:
      switch (f) {
        case 1: case 21: return -1;
        case 5: case 10: return M_TENSOR;
        case 6: case 11: return M_GRAPH;
        case 22: case 23: return M_SPARSE;
        case 14: case 15: return M_TYPE;
      }
      break;
    case M_TENSOR:
      switch (f) {
        case 3: return M_SEGMENT;
        case 8: return -1;
        case 13: return M_SSE;
      }
      break;
    case M_SPARSE:
      if (f == 1 || f == 2) return M_TENSOR;
      break;
    case M_VALUEINFO:
      if (f == 1) return -1;
      if (f == 2) return M_TYPE;
      break;
    case M_TYPE:
      switch (f) {
        case 1: case 8: return M_TYPE_TENSOR;
        case 4: return M_TYPE_SEQ;
        case 5: return M_TYPE_MAP;
        case 9: return M_TYPE_OPT;
      }
      break;
    case M_TYPE_TENSOR:
      if (f == 2) return M_SHAPE;
      break;
    case M_TYPE_SEQ:
    case M_TYPE_OPT:
      if (f == 1) return M_TYPE;
      break;
    case M_TYPE_MAP:
      if (f == 2) return M_TYPE;
      break;
    case M_SHAPE:
      if (f == 1) return M_DIM;
      break;
    case M_DIM:
      if (f == 2) return -1;
      break;
    case M_OPSET:
      if (f == 1) return -1;
      break;
    case M_SSE:
      if (f == 1 || f == 2) return -1;
      break;
    case M_TRAINING:
      if (f == 1 || f == 2) return M_GRAPH;
      if (f == 3 || f == 4) return M_SSE;
      break;
    case M_FUNCTION:
      if (f == 7) return M_NODE;
      if (f == 9) return M_OPSET;
      break;
    case M_ANNOTATION:
      if (f == 2) return M_SSE;
      break;
  }
  return M_NONE;
}

static bool varint(const uint8_t *p, size_t n, size_t *i, uint64_t *v) {
  uint64_t r = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*i >= n) return false;
    uint8_t b = p[(*i)++];
    r |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = r;
      return true;
    }
  }
  return false;
}

static bool scan(const uint8_t *p, size_t n, int msg, int depth, const char *what, diag *d) {
  if (depth > OX_MAX_DEPTH) {
    diag_error(d, "%s: messages nested more than %d deep; refusing to decode", what, OX_MAX_DEPTH);
    return false;
  }
  size_t i = 0;
  while (i < n) {
    uint64_t tag, len;
    size_t at = i;
    if (!varint(p, n, &i, &tag) || (tag >> 3) == 0 || (tag >> 3) > 0x1fffffff) {
      diag_error(d, "%s: malformed protobuf (bad field tag at byte %zu)", what, at);
      return false;
    }
    uint32_t field = (uint32_t)(tag >> 3);
    switch (tag & 7) {
      case 0:
        if (!varint(p, n, &i, &len)) {
          diag_error(d, "%s: malformed protobuf (bad varint at byte %zu)", what, at);
          return false;
        }
        break;
      case 1:
        if (n - i < 8) goto truncated;
        i += 8;
        break;
      case 5:
        if (n - i < 4) goto truncated;
        i += 4;
        break;
      case 2: {
        if (!varint(p, n, &i, &len) || len > n - i) goto truncated;
        int k = field_kind(msg, field);
        if (k < 0 && memchr(p + i, 0, len)) {
          diag_error(d, "%s: a name or identifier string contains a NUL byte (byte %zu)", what, i);
          return false;
        }
        if (k > 0 && !scan(p + i, len, k, depth + 1, what, d)) return false;
        i += len;
        break;
      }
      default:
        diag_error(d, "%s: malformed protobuf (unsupported wire type %u at byte %zu)", what, (unsigned)(tag & 7), at);
        return false;
    }
  }
  return true;
truncated:
  diag_error(d, "%s: malformed protobuf (truncated: a field runs past the end of the data)", what);
  return false;
}

/* protobuf-c allocates through these rather than its own default (which
 * also ends in malloc), so that its allocations are made by kiln's objects
 * and fail when the fault-injection test (tests/faultinject) says so.
 * `data`, when not NULL, is a bool set when an allocation fails, so that
 * running out of memory is not reported as a malformed model. */
static void *pb_alloc(void *data, size_t n) {
  void *p = malloc(n);
  if (!p && data) *(bool *)data = true;
  return p;
}

static void pb_free(void *data, void *p) {
  (void)data;
  free(p);
}

Onnx__ModelProto *ox_decode_model(const void *bytes, size_t n, const char *what, diag *d) {
  if (n == 0) {
    diag_error(d, "%s: empty file, not an ONNX model", what);
    return NULL;
  }
  if (!scan(bytes, n, M_MODEL, 0, what, d)) return NULL;
  bool oom = false;
  ProtobufCAllocator a = {pb_alloc, pb_free, &oom};
  Onnx__ModelProto *m = onnx__model_proto__unpack(&a, n, bytes);
  if (!m && oom) diag_error(d, "%s: out of memory decoding the model", what);
  else if (!m) diag_error(d, "%s: not a valid ONNX model (protobuf decoding failed)", what);
  return m;
}

Onnx__TensorProto *ox_decode_tensor(const void *bytes, size_t n, const char *what, diag *d) {
  if (!scan(bytes, n, M_TENSOR, 0, what, d)) return NULL;
  bool oom = false;
  ProtobufCAllocator a = {pb_alloc, pb_free, &oom};
  Onnx__TensorProto *t = onnx__tensor_proto__unpack(&a, n, bytes);
  if (!t && oom) diag_error(d, "%s: out of memory decoding the tensor", what);
  else if (!t) diag_error(d, "%s: not a valid ONNX TensorProto (protobuf decoding failed)", what);
  return t;
}

void ox_free_model(Onnx__ModelProto *m) {
  ProtobufCAllocator a = {pb_alloc, pb_free, NULL};
  if (m) onnx__model_proto__free_unpacked(m, &a);
}

void ox_free_tensor(Onnx__TensorProto *t) {
  ProtobufCAllocator a = {pb_alloc, pb_free, NULL};
  if (t) onnx__tensor_proto__free_unpacked(t, &a);
}
