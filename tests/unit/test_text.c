/*
 * Printer and parser of the text form (docs/ir.md): canonical text written
 * by hand must come back byte for byte (every attribute form is in
 * kir/all_forms.kir); non-canonical input prints as the hand-written
 * canonical form; floats print with the fewest digits that read back
 * (expected strings worked out from C's %g and checked with NumPy), with
 * inf, -inf, nan and -0; strings keep their escapes; layouts survive; the
 * parser's messages have the form "file:line:col: error: ..." with the
 * source line and a caret.
 *
 * Usage: unit_text DIR (DIR holds all_forms.kir).
 */
#include "tests/unit/unit.h"

#include "ir/symbolic.h"

static const char *kir_dir = ".";

/* Parses text (expected to succeed), prints it and returns the malloc'd
 * print; fails the test with the messages otherwise. */
static char *reprint(const char *text) {
  msgs d;
  msgs_init(&d);
  ir_module *m = ir_parse_module(text, strlen(text), "t.kir", &d.sink);
  if (!m) {
    print_error("parse failed:\n%s\n", d.text);
    fail();
  }
  assert_int_equal(d.count, 0);
  char *out = ir_print_module(m, NULL);
  assert_non_null(out);
  ir_module_destroy(m);
  return out;
}

/* The parse must fail; returns the messages (static buffer). */
static const char *parse_error(const char *text) {
  static msgs d;
  msgs_init(&d);
  ir_module *m = ir_parse_module(text, strlen(text), "t.kir", &d.sink);
  if (m) {
    char *p = ir_print_module(m, NULL);
    print_error("parse unexpectedly succeeded:\n%s\n", p);
    free(p);
    ir_module_destroy(m);
    fail();
  }
  assert_true(d.count >= 1);
  return d.text;
}

#define assert_reprints_as(in, want)      \
  do {                                    \
    char *out_ = reprint(in);             \
    assert_string_equal(out_, (want));    \
    free(out_);                           \
  } while (0)

#define assert_round_trips(text) assert_reprints_as((text), (text))

static void test_all_forms(void **state) {
  (void)state;
  char path[4096];
  snprintf(path, sizeof path, "%s/all_forms.kir", kir_dir);
  size_t n = 0;
  char *text = read_or_fail(path, &n);
  msgs d;
  msgs_init(&d);
  ir_module *m = ir_parse_module(text, n, path, &d.sink);
  if (!m) {
    print_error("%s\n", d.text);
    fail();
  }
  char *p1 = ir_print_module(m, NULL);
  assert_string_equal(p1, text);
  /* A deep copy prints the same. */
  ir_module *c = ir_module_clone(m);
  assert_non_null(c);
  char *p2 = ir_print_module(c, NULL);
  assert_string_equal(p2, text);
  assert_true(ir_verify(c, &d.sink));
  ir_module_destroy(c);
  /* Generated names never collide with parsed ones. */
  const char *fresh = ir_fresh_name(m, "fa");
  for (uint32_t ci = 0; ci < m->ncomps; ci++)
    for (uint32_t i = 0; i < m->comps[ci]->ninsts; i++) assert_string_not_equal(m->comps[ci]->insts[i].name, fresh);
  free(p1);
  free(p2);
  free(text);
  ir_module_destroy(m);
}

static void test_canonical_form(void **state) {
  (void)state;
  /* Comments, odd spacing, omitted layouts, no outputs clause, a '+' sign,
   * an explicit empty layout on a scalar, keywords as names. */
  const char *in =
      "// a comment before the module\n"
      "module   m // trailing comment\n"
      "%f{%p=f32[3]parameter(+0)\n"
      "ROOT %ROOT=f32[3]  negate_me_not(%p)}\n";
  const char *err = parse_error(in);
  assert_contains(err, "t.kir:4:20: error: unknown op 'negate_me_not'");

  in = "// a comment before the module\n"
       "module   m // trailing comment\n"
       "%f{%p=f32[3]parameter(+0)\n"
       "ROOT %ROOT=f32[3]  neg(%p)}\n"
       "ENTRY %ENTRY {\n"
       "  %x = f32[3] parameter(0) , io_name = \"x\"\n"
       "  %s = f32[]{} constant( -1.50 )\n"
       "  %module = f32[3, 1] reshape(%x)\n"
       "  %y = f32[3] fusion(%x), calls=%f, kind=loop // attribute order is free\n"
       "  ROOT %t = (f32[3], f32[3,1]{0,1}, f32[]) tuple(%y, %module, %s)\n"
       "}\n";
  assert_reprints_as(in,
                     "module m\n"
                     "\n"
                     "%f {\n"
                     "  %p = f32[3]{0} parameter(0)\n"
                     "  ROOT %ROOT = f32[3]{0} neg(%p)\n"
                     "}\n"
                     "\n"
                     "ENTRY %ENTRY outputs={\"output0\", \"output1\", \"output2\"} {\n"
                     "  %x = f32[3]{0} parameter(0), io_name=\"x\"\n"
                     "  %s = f32[] constant(-1.5)\n"
                     "  %module = f32[3,1]{1,0} reshape(%x)\n"
                     "  %y = f32[3]{0} fusion(%x), kind=loop, calls=%f\n"
                     "  ROOT %t = (f32[3]{0}, f32[3,1]{0,1}, f32[]) tuple(%y, %module, %s)\n"
                     "}\n");
  /* A module name that is not an identifier is quoted; one that is, is not. */
  assert_reprints_as("module \"my model\" ENTRY %e { ROOT %t = () tuple() }",
                     "module \"my model\"\n\nENTRY %e {\n  ROOT %t = () tuple()\n}\n");
  assert_reprints_as("module \"plain\" ENTRY %e { ROOT %t = () tuple() }",
                     "module plain\n\nENTRY %e {\n  ROOT %t = () tuple()\n}\n");
  /* Computations print callees first, whatever order they were made in. */
  assert_round_trips("module m\n"
                     "\n"
                     "%g {\n"
                     "  %gp = f32[] parameter(0)\n"
                     "  ROOT %gn = f32[] neg(%gp)\n"
                     "}\n"
                     "\n"
                     "%h {\n"
                     "  %hp = f32[] parameter(0)\n"
                     "  ROOT %hf = f32[] fusion(%hp), kind=loop, calls=%g\n"
                     "}\n"
                     "\n"
                     "ENTRY %main outputs={\"y\"} {\n"
                     "  %x = f32[] parameter(0)\n"
                     "  %f = f32[] fusion(%x), kind=input, calls=%h\n"
                     "  ROOT %t = (f32[]) tuple(%f)\n"
                     "}\n");
}

/* Tuples and output lists of any length read back (the builder makes
 * them; an ONNX model may have hundreds of outputs). */
static void test_long_tuples(void **state) {
  (void)state;
  enum { N = 300 };
  static char text[64 * N + 256], want[64 * N + 256];
  size_t k = (size_t)sprintf(text, "module m ENTRY %%e outputs={");
  for (int i = 0; i < N; i++) k += (size_t)sprintf(text + k, "%s\"o%d\"", i ? ", " : "", i);
  k += (size_t)sprintf(text + k, "} { %%x = f32[] parameter(0) ROOT %%t = (");
  for (int i = 0; i < N; i++) k += (size_t)sprintf(text + k, "%sf32[]", i ? ", " : "");
  k += (size_t)sprintf(text + k, ") tuple(");
  for (int i = 0; i < N; i++) k += (size_t)sprintf(text + k, "%s%%x", i ? ", " : "");
  sprintf(text + k, ") }");
  k = (size_t)sprintf(want, "module m\n\nENTRY %%e outputs={");
  for (int i = 0; i < N; i++) k += (size_t)sprintf(want + k, "%s\"o%d\"", i ? ", " : "", i);
  k += (size_t)sprintf(want + k, "} {\n  %%x = f32[] parameter(0)\n  ROOT %%t = (");
  for (int i = 0; i < N; i++) k += (size_t)sprintf(want + k, "%sf32[]", i ? ", " : "");
  k += (size_t)sprintf(want + k, ") tuple(");
  for (int i = 0; i < N; i++) k += (size_t)sprintf(want + k, "%s%%x", i ? ", " : "");
  sprintf(want + k, ")\n}\n");
  assert_reprints_as(text, want);
}

static void test_floats(void **state) {
  (void)state;
  assert_reprints_as(
      "module m ENTRY %e {\n"
      "%a = f32[12] constant({0.1, 1e-45, 3.4028235e38, inf, -inf, nan, -0, 16777217, 0.3333333333, 100, 1e10, 1.17549435e-38})\n"
      "%b = f16[8] constant({0.1, 65504, 6.1035156e-05, 5.9604645e-08, inf, -nan, -0.0, 2049})\n"
      "%c = bf16[5] constant({0.1, 3, 3.3895314e38, -inf, 1e-40})\n"
      "%d = f64[8] constant({0.1, 0.33333333333333331, 1e300, 4.9406564584124654e-324, 2.2250738585072014e-308, "
      "123456789012345678, -0, nan})\n"
      "ROOT %t = (f32[12], f16[8], bf16[5], f64[8]) tuple(%a, %b, %c, %d) }",
      "module m\n"
      "\n"
      "ENTRY %e outputs={\"output0\", \"output1\", \"output2\", \"output3\"} {\n"
      "  %a = f32[12]{0} constant({0.1, 1e-45, 3.4028235e+38, inf, -inf, nan, -0, 16777216, 0.33333334, 100, "
      "10000000000, 1.1754944e-38})\n"
      "  %b = f16[8]{0} constant({0.1, 65504, 6.104e-05, 6e-08, inf, nan, -0, 2048})\n"
      "  %c = bf16[5]{0} constant({0.1, 3, 3.39e+38, -inf, 9e-41})\n"
      "  %d = f64[8]{0} constant({0.1, 0.3333333333333333, 1e+300, 5e-324, 2.2250738585072014e-308, "
      "1.2345678901234568e+17, -0, nan})\n"
      "  ROOT %t = (f32[12]{0}, f16[8]{0}, bf16[5]{0}, f64[8]{0}) tuple(%a, %b, %c, %d)\n"
      "}\n");
  /* Other spellings strtod accepts read as the same values. */
  assert_reprints_as("module m ENTRY %e { %a = f32[4] constant({INF, Infinity, 0x1p-2, 1E3})\n"
                     "ROOT %t = (f32[4]) tuple(%a) }",
                     "module m\n\nENTRY %e outputs={\"output0\"} {\n"
                     "  %a = f32[4]{0} constant({inf, inf, 0.25, 1000})\n"
                     "  ROOT %t = (f32[4]{0}) tuple(%a)\n}\n");
  assert_contains(parse_error("module m ENTRY %e { %a = f32[] constant(1.5x) ROOT %t = () tuple() }"),
                  "t.kir:1:41: error: expected a number, found '1.5x'");
  assert_contains(parse_error("module m ENTRY %e { %a = f32[] constant(true) ROOT %t = () tuple() }"),
                  "expected a number, found 'true'");
}

static void test_integers(void **state) {
  (void)state;
  assert_round_trips("module m\n\nENTRY %e outputs={\"output0\"} {\n"
                     "  %a = i8[2]{0} constant({-128, 127})\n"
                     "  %b = u8[2]{0} constant({0, 255})\n"
                     "  %c = i16[2]{0} constant({-32768, 32767})\n"
                     "  %d = u16[1]{0} constant({65535})\n"
                     "  %e = i32[2]{0} constant({-2147483648, 2147483647})\n"
                     "  %f = u32[1]{0} constant({4294967295})\n"
                     "  %g = i64[2]{0} constant({-9223372036854775808, 9223372036854775807})\n"
                     "  %h = u64[1]{0} constant({18446744073709551615})\n"
                     "  %i = pred[2]{0} constant({false, true})\n"
                     "  ROOT %t = (i8[2]{0}) tuple(%a)\n}\n");
  static const struct {
    const char *lit, *msg;
  } bad[] = {
      {"i8[] constant(128)", "'128' is not a i8 value"},
      {"i8[] constant(-129)", "'-129' is not a i8 value"},
      {"u8[] constant(256)", "'256' is not a u8 value"},
      {"u8[] constant(-1)", "negative value '-1' for u8"},
      {"u16[] constant(65536)", "'65536' is not a u16 value"},
      {"i32[] constant(2147483648)", "'2147483648' is not a i32 value"},
      {"u32[] constant(4294967296)", "'4294967296' is not a u32 value"},
      {"i64[] constant(9223372036854775808)", "'9223372036854775808' is not a i64 value"},
      {"u64[] constant(18446744073709551616)", "'18446744073709551616' is not a u64 value"},
      {"i32[] constant(1.5)", "'1.5' is not a i32 value"},
      {"i32[] constant(0x10)", "'0x10' is not a i32 value"},
      {"pred[] constant(1)", "expected true or false, found '1'"},
      {"pred[] constant(True)", "expected true or false, found 'True'"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char text[256];
    snprintf(text, sizeof text, "module m ENTRY %%e { %%a = %s ROOT %%t = () tuple() }", bad[i].lit);
    assert_contains(parse_error(text), bad[i].msg);
  }
  /* Literal nesting must follow the shape. */
  assert_contains(parse_error("module m ENTRY %e { %a = i8[2] constant({1, 2, 3}) ROOT %t = () tuple() }"),
                  "literal has more than 2 entries in dimension 0");
  assert_contains(parse_error("module m ENTRY %e { %a = i8[2] constant({1}) ROOT %t = () tuple() }"),
                  "expected ',', found '}'");
  assert_contains(parse_error("module m ENTRY %e { %a = i8[2] constant(1) ROOT %t = () tuple() }"),
                  "expected '{', found '1'");
  assert_contains(parse_error("module m ENTRY %e { %a = i8[1] constant({{1}}) ROOT %t = () tuple() }"),
                  "expected a number, found '{'");
}

static void test_strings(void **state) {
  (void)state;
  /* Every escape, raw UTF-8 bytes, and control bytes written as \xHH. */
  assert_round_trips("module \"m\\\"1\"\n"
                     "\n"
                     "ENTRY %e outputs={\"tab\\there\", \"nl\\nhere\", \"caf\xc3\xa9\"} {\n"
                     "  %x = f32[] parameter(0), io_name=\"a\\\"b\\\\c\\x01\\x1f\\x7f\"\n"
                     "  %c = f32[] custom_call(%x), custom_call_target=\"t\", backend_config=\"\"\n"
                     "  %d = f32[] neg(%c), loc=\"op:type\":\"\\\\\"\n"
                     "  ROOT %t = (f32[], f32[], f32[]) tuple(%x, %c, %d)\n"
                     "}\n");
  /* \xHH of a printable character reads as the character; raw tabs and
   * control bytes in strings print escaped. */
  assert_reprints_as("module m ENTRY %e outputs={\"\\x41\\x42\", \"a\tb\", \"\x02\"} {\n"
                     "  %x = f32[] parameter(0)\n"
                     "  ROOT %t = (f32[], f32[], f32[]) tuple(%x, %x, %x) }",
                     "module m\n\nENTRY %e outputs={\"AB\", \"a\\tb\", \"\\x02\"} {\n"
                     "  %x = f32[] parameter(0)\n"
                     "  ROOT %t = (f32[], f32[], f32[]) tuple(%x, %x, %x)\n}\n");
  static const struct {
    const char *str, *msg;
  } bad[] = {
      {"\"a\\qb\"", "unknown escape '\\q'"},
      {"\"\\x00\"", "bad \\x escape"},
      {"\"\\xg1\"", "bad \\x escape"},
      {"\"\\x+1\"", "bad \\x escape"},
      {"\"\\x 1\"", "bad \\x escape"},
      {"\"\\x-1\"", "bad \\x escape"},
      {"\"\\x1\"", "bad \\x escape"},
      {"\"abc", "unterminated string"},
      {"\"ab\ncd\"", "unterminated string"},
      {"\"ab\\", "unknown escape: '\\' followed by byte 0x0a"},
      {"name", "expected a quoted string, found 'name'"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char text[256];
    snprintf(text, sizeof text, "module m ENTRY %%e { %%x = f32[] parameter(0), io_name=%s\n ROOT %%t = () tuple() }",
             bad[i].str);
    assert_contains(parse_error(text), bad[i].msg);
  }
  /* Strings cut by the end of the text. */
  assert_contains(parse_error("module m ENTRY %e outputs={\"abc"), "t.kir:1:28: error: unterminated string");
  assert_contains(parse_error("module m ENTRY %e outputs={\"abc\\"), "t.kir:1:28: error: unterminated string");
  assert_contains(parse_error("module m ENTRY %e outputs={\"abc\\x4"), "t.kir:1:32: error: bad \\x escape");
}

static void test_layouts(void **state) {
  (void)state;
  assert_round_trips("module m\n\nENTRY %e outputs={\"output0\"} {\n"
                     "  %x = f32[2,3,4]{0,2,1} parameter(0)\n"
                     "  %y = f32[2,3,4]{2,1,0} neg(%x)\n"
                     "  %z = f32[2,3,4]{0,1,2} abs(%y)\n"
                     "  ROOT %t = (f32[2,3,4]{1,0,2}) tuple(%z)\n"
                     "}\n");
  assert_round_trips("module m\n\nENTRY %e outputs={\"output0\"} {\n"
                     "  %w = f32[3,2]{0,1:P(1,4)} constant({{1, 2}, {3, 4}, {5, 6}})\n"
                     "  %n = f32[3,2]{1,0} neg(%w)\n"
                     "  ROOT %t = (f32[3,2]{1,0}) tuple(%n)\n"
                     "}\n");
  static const struct {
    const char *shape, *msg;
  } bad[] = {
      {"f32[2,3]{1,1}", "t.kir:1:34: error: layout must be a permutation of 0..1"},
      {"f32[2,3]{2,0}", "t.kir:1:34: error: layout entry 2 out of range"},
      {"f32[2,3]{-1,0}", "layout entry -1 out of range"},
      {"f32[2,3]{0}", "t.kir:1:34: error: layout has 1 entries for rank 2"},
      {"f32[]{0}", "layout has 1 entries for rank 0"},
      {"f32[2,3]{1,0,2}", "layout has 3 entries for rank 2"},
      {"f32[2,3]{1 0}", "expected '}', found '0'"},
      {"f32[1,1,1,1,1,1,1,1,1]", "rank exceeds the maximum of 8"},
      {"f32[2,-3]", "dimension size -3 is negative"},
      {"f32[2,3", "expected ']'"},
      {"f33[2]", "t.kir:1:26: error: unknown element type 'f33'"},
      {"tuple[2]", "unknown element type 'tuple'"},
      {"f32[4611686018427387904]", "shape is too large"},
      {"f32[99999999999999999999]", "integer out of range"},
      /* Panel layouts (docs/ir.md). */
      {"f32[4,6]{1,1:P(1,4)}", "layout must be a permutation of 0..1"},
      {"f32[4,6]{1,0:P(0,0)}", "panel P(0,0): the dimension must be one of the shape's and the size 1.."},
      {"f32[4,6]{1,0:Q(0,4)}", "expected P(dim,size) after ':' in a layout"},
      {"f32[4,6]{1,0:P(0 4)}", "expected ','"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char text[256];
    snprintf(text, sizeof text, "module m ENTRY %%e { %%x = %s parameter(0) ROOT %%t = () tuple() }", bad[i].shape);
    assert_contains(parse_error(text), bad[i].msg);
  }
}

static void test_elided_constants(void **state) {
  (void)state;
  const char *text = "module m ENTRY %e { %big = i32[17] constant({0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16})\n"
                     "%small = i32[2] constant({1, 2}) ROOT %t = (i32[17], i32[2]) tuple(%big, %small) }";
  msgs d;
  msgs_init(&d);
  ir_module *m = ir_parse_module(text, strlen(text), "t.kir", &d.sink);
  assert_non_null(m);
  ir_print_opts o = {.elide_constants_over = 16};
  char *p = ir_print_module(m, &o);
  assert_contains(p, "  %big = i32[17]{0} constant({...})\n");
  assert_contains(p, "  %small = i32[2]{0} constant({1, 2})\n");
  /* Elided text is for reading only: the parser says so. */
  const char *err = parse_error(p);
  assert_contains(err, "t.kir:4:30: error: constant data was elided in this dump");
  free(p);
  o.elide_constants_over = 0; /* never elide */
  p = ir_print_module(m, &o);
  assert_contains(p, "constant({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})");
  free(p);
  ir_module_destroy(m);
}

/* The message format: file:line:col, the source line, a caret under the
 * column (tabs kept so the caret lines up). */
static void test_message_format(void **state) {
  (void)state;
  const char *err = parse_error("module m\nENTRY %main {\n  %x = f32[2] foo(%y)\n}\n");
  assert_string_equal(err, "t.kir:3:15: error: unknown op 'foo'\n"
                           "    %x = f32[2] foo(%y)\n"
                           "                ^\n");
  err = parse_error("module m\nENTRY %main {\n\t%x = f32[2] parameter(0)\n\t%y = f32[2] neg(%q)\n}\n");
  assert_string_equal(err, "t.kir:4:18: error: unknown instruction %q (operands must be defined before use)\n"
                           "  \t%y = f32[2] neg(%q)\n"
                           "  \t                ^\n");
  err = parse_error("module m\nENTRY %main {\n");
  assert_string_equal(err, "t.kir:3:1: error: expected '}' closing computation, found end of file\n"
                           "  \n"
                           "  ^\n");
  err = parse_error("");
  assert_contains(err, "t.kir:1:1: error: expected 'module' and a module name, found end of file");
  err = parse_error("module m\n");
  assert_contains(err, "t.kir:2:1: error: the module has no ENTRY computation");
  /* A NULL file name reads as <input>; a NULL sink is allowed. */
  msgs d;
  msgs_init(&d);
  assert_null(ir_parse_module("module", 6, NULL, &d.sink));
  assert_contains(d.text, "<input>:1:7: error: expected a module name, found end of file");
  assert_null(ir_parse_module("module", 6, NULL, NULL));
}

/* A module made with the builder prints as text that parses back and
 * prints identically; the text is checked against a hand-written copy. */
static void test_builder_round_trip(void **state) {
  (void)state;
  fixture *f = fixture_new();
  ir_builder *b = &f->b;
  int64_t d23[2] = {2, 3};
  ir_id x = ir_parameter(b, 0, ir_shape_make(IR_F32, 2, d23), "x");
  ir_id lo = ir_constant_f(b, IR_F32, -0.0);
  ir_id s = ir_slice(b, x, (int64_t[]){0, 1}, (int64_t[]){2, 3}, NULL);
  ir_id p = ir_pad(b, s, lo, (int64_t[]){0, 1}, (int64_t[]){0, 0}, NULL);
  ir_window w;
  memset(&w, 0, sizeof w);
  w.rank = 2;
  for (int i = 0; i < 2; i++) w.d[i].size = w.d[i].stride = w.d[i].lhs_dilate = w.d[i].rhs_dilate = 1;
  w.d[1].size = 2;
  ir_builder_set_loc(b, "MaxPool", "pool");
  ir_id r = ir_reduce_window(b, p, &w, IR_COMB_MAX);
  ir_builder_set_loc(b, NULL, NULL);
  ir_id t = ir_tuple(b, 1, &r);
  assert_true(ir_set_root(b, t, 1, (const char *const[]){"out"}));
  char *p1 = ir_print_module(f->m, NULL);
  assert_string_equal(p1, "module t\n"
                          "\n"
                          "ENTRY %main outputs={\"out\"} {\n"
                          "  %parameter.0 = f32[2,3]{1,0} parameter(0), io_name=\"x\"\n"
                          "  %constant.1 = f32[] constant(-0)\n"
                          "  %slice.2 = f32[2,2]{1,0} slice(%parameter.0), slice={[0:2], [1:3]}\n"
                          "  %pad.3 = f32[2,3]{1,0} pad(%slice.2, %constant.1), padding=0_0x1_0\n"
                          "  %reduce_window.4 = f32[2,2]{1,0} reduce_window(%pad.3), window={size=1x2}, combiner=max, "
                          "loc=MaxPool:\"pool\"\n"
                          "  ROOT %tuple.5 = (f32[2,2]{1,0}) tuple(%reduce_window.4)\n"
                          "}\n");
  char *p2 = reprint(p1);
  assert_string_equal(p2, p1);
  free(p1);
  free(p2);
  fixture_free(f);
}

/* ---- symbolic dimensions (docs/ir.md, "Symbolic dimensions") ---- */

/* Every expression form the printer writes, in canonical text: sums,
 * products, a negative term after the constant, floor divisions of a
 * symbol and of a sum, a coefficient after a division, a product of two
 * divisions (the second in parentheses), a division of a sum (nested
 * divisions are canonicalised to one, see test_symbolic_canonical). "(s-3)/2+1"
 * is written "(s+1)/2-1" (the canonical form keeps remainders in [0, 2)).
 * Divisions print by divisor ("(s+1)/2" before "s/4"). */
static const char sym_text[] =
    "module m\n"
    "symbol b <= 8\n"
    "symbol s <= 64\n"
    "\n"
    "ENTRY %main {\n"
    "  %p0 = f32[b,s,768]{2,1,0} parameter(0)\n"
    "  %p1 = f32[b*s,768]{1,0} parameter(1)\n"
    "  %p2 = f32[2*s+1]{0} parameter(2)\n"
    "  %p3 = f32[s-1]{0} parameter(3)\n"
    "  %p4 = f32[s/4*b]{0} parameter(4)\n"
    "  %p5 = f32[(s+1)/2*(s/4)]{0} parameter(5)\n"
    "  %p6 = f32[(s+1)/2-1]{0} parameter(6)\n"
    "  %p7 = f32[s/4*3*b,(s+2)/6,(b*s+1)/2,70-s]{0,1,2,3} parameter(7)\n"
    "  %p8 = f32[b*s+8-b,b+s-2]{1,0} parameter(8)\n"
    "  ROOT %t = () tuple()\n"
    "}\n";

static ir_module *parse_ok(const char *text) {
  msgs d;
  msgs_init(&d);
  ir_module *m = ir_parse_module(text, strlen(text), "t.kir", &d.sink);
  if (!m) {
    print_error("parse failed:\n%s\n", d.text);
    fail();
  }
  return m;
}

static void test_symbolic_round_trip(void **state) {
  (void)state;
  assert_round_trips(sym_text);
  /* parse . print . parse . print gives the same text again. */
  char *p1 = reprint(sym_text);
  char *p2 = reprint(p1);
  assert_string_equal(p2, sym_text);
  free(p1);
  free(p2);
  /* The order of terms and factors does not depend on the order in which
   * the text (or whoever built the module) made the divisions: s/3 is met
   * first here, but a parse of the printed text meets s/2 first. */
  static const char mixed[] = "module m\nsymbol s <= 64\n\nENTRY %e {\n"
                              "  %x = f32[s/3+s/2*(s/5),s/3+s/2,s/4*((s+1)/2)]{2,1,0} parameter(0)\n"
                              "  ROOT %t = () tuple()\n}\n";
  static const char mixed_printed[] = "module m\nsymbol s <= 64\n\nENTRY %e {\n"
                                      "  %x = f32[s/2*(s/5)+s/3,s/2+s/3,(s+1)/2*(s/4)]{2,1,0} parameter(0)\n"
                                      "  ROOT %t = () tuple()\n}\n";
  assert_reprints_as(mixed, mixed_printed);
  assert_round_trips(mixed_printed);
  /* An expression longer than the printer's first buffer (256 bytes). */
  char big[2048];
  int k = snprintf(big, sizeof big, "module m\n");
  for (int i = 0; i < 10; i++)
    k += snprintf(big + k, sizeof big - (size_t)k, "symbol a_long_symbol_name_for_a_long_dimension_%d <= 4\n", i);
  k += snprintf(big + k, sizeof big - (size_t)k, "\nENTRY %%e {\n  %%x = f32[");
  for (int i = 0; i < 10; i++)
    k += snprintf(big + k, sizeof big - (size_t)k, "%sa_long_symbol_name_for_a_long_dimension_%d", i ? "+" : "", i);
  snprintf(big + k, sizeof big - (size_t)k, "]{0} parameter(0)\n  ROOT %%t = () tuple()\n}\n");
  assert_true(strlen(big) > 600);
  assert_round_trips(big);
  /* Symbols and their bounds are read into the module in order. */
  ir_module *m = parse_ok(sym_text);
  assert_int_equal(ir_sym_count(m), 2);
  assert_string_equal(ir_sym_name(m, 0), "b");
  assert_int_equal(ir_sym_bound(m, 0), 8);
  assert_string_equal(ir_sym_name(m, 1), "s");
  assert_int_equal(ir_sym_bound(m, 1), 64);
  ir_module_destroy(m);
}

/* Each dimension read from text is the expression the API builds for the
 * same formula (so the same id: ids are canonical), holds the bound worked
 * out by hand, and evaluates as the formula does at b=3, s=10 and b=1, s=7
 * (values by hand, floor division). */
static void test_symbolic_values(void **state) {
  (void)state;
  ir_module *m = parse_ok(sym_text);
  const ir_comp *c = ir_module_entry(m);
  int kb = ir_sym_find(m, "b"), ks = ir_sym_find(m, "s");
  assert_true(kb == 0 && ks == 1);
  ir_dexpr b = ir_sym_expr(m, kb), s = ir_sym_expr(m, ks);
  const ir_shape *sh[9];
  for (int i = 0; i < 9; i++) sh[i] = &c->insts[ir_comp_param(c, (uint32_t)i)].shape;
  ir_dexpr s4 = ir_dexpr_floordiv(m, s, 4);
  ir_dexpr s1_2 = ir_dexpr_floordiv(m, ir_dexpr_add_const(m, s, 1), 2);
  static const struct {
    int param, dim;
    int64_t bound, at_3_10, at_1_7;
  } want[] = {
      {0, 0, 8, 3, 1},      {0, 1, 64, 10, 7},    {0, 2, 768, 768, 768}, {1, 0, 512, 30, 7},
      {2, 0, 129, 21, 15},  {3, 0, 63, 9, 6},     {4, 0, 128, 6, 1},     {5, 0, 512, 10, 4},
      {6, 0, 31, 4, 3},     {7, 0, 384, 18, 3},   {7, 1, 11, 2, 1},      {7, 2, 256, 15, 4},
      {7, 3, 69, 60, 63},   {8, 1, 70, 11, 6},
  };
  ir_dexpr built[] = {
      b,
      s,
      0, /* static */
      ir_dexpr_mul(m, b, s),
      ir_dexpr_add_const(m, ir_dexpr_mul_const(m, s, 2), 1),
      ir_dexpr_add_const(m, s, -1),
      ir_dexpr_mul(m, s4, b),
      ir_dexpr_mul(m, s4, s1_2),
      ir_dexpr_add_const(m, ir_dexpr_floordiv(m, ir_dexpr_add_const(m, s, -3), 2), 1), /* (s-3)/2+1 */
      ir_dexpr_mul(m, ir_dexpr_mul_const(m, s4, 3), b),
      ir_dexpr_floordiv(m, ir_dexpr_add_const(m, ir_dexpr_floordiv(m, s, 2), 1), 3),
      ir_dexpr_floordiv(m, ir_dexpr_add_const(m, ir_dexpr_mul(m, b, s), 1), 2),
      ir_dexpr_sub(m, ir_dexpr_const(m, 70), s),
      ir_dexpr_add_const(m, ir_dexpr_add(m, b, s), -2),
  };
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    const ir_shape *x = sh[want[i].param];
    int d = want[i].dim;
    assert_int_equal(x->dims[d], want[i].bound);
    assert_int_equal(x->sym[d], built[i]);
    int64_t v;
    ir_dexpr e = ir_shape_dim(m, x, d);
    assert_true(ir_dexpr_eval(m, e, (const int64_t[]){3, 10}, &v));
    assert_int_equal(v, want[i].at_3_10);
    assert_true(ir_dexpr_eval(m, e, (const int64_t[]){1, 7}, &v));
    assert_int_equal(v, want[i].at_1_7);
  }
  /* b*s+8-b: 35 at b=3, s=10 (its bound is the range's enclosure). */
  int64_t v;
  assert_true(ir_dexpr_eval(m, sh[8]->sym[0], (const int64_t[]){3, 10}, &v));
  assert_int_equal(v, 35);
  ir_module_destroy(m);

  /* Static text never creates expressions: the table stays empty. */
  m = parse_ok("module m\n\nENTRY %e {\n  %x = f32[2,3]{1,0} parameter(0)\n"
               "  %y = f32[1,3]{1,0} slice(%x), slice={[1:2], [0:3]}\n  ROOT %t = () tuple()\n}\n");
  assert_int_equal(ir_dexpr_count(m), 0);
  assert_int_equal(ir_sym_count(m), 0);
  ir_module_destroy(m);
}

/* Text that is not canonical prints as the canonical form; a dimension
 * whose expression is a constant is static. */
static void test_symbolic_canonical(void **state) {
  (void)state;
  static const struct {
    const char *in, *out;
  } cases[] = {
      {"s*b", "b*s"},
      {"s+s", "2*s"},
      {"s*2", "2*s"},
      {"(s+1)*2", "2*s+2"},
      {" b * s ", "b*s"},
      {"4*s/4", "s"},
      {"s/1", "s"},
      {"-s+70", "70-s"},
      {"-2*(s-70)", "140-2*s"},
      {"70-(s+2)", "68-s"},
      {"b-b+3", "3"},
      {"s/2*2-2*(s/2)+5", "5"},
      {"(s-3)/2+1", "(s+1)/2-1"},
      {"(s+1)/2*(s/4)", "(s+1)/2*(s/4)"},
      {"s/4*((s+1)/2)", "(s+1)/2*(s/4)"},
      {"b*s/4", "(b*s)/4"},
      {"s/2/2", "s/4"},          /* floor(floor(s/2)/2) == floor(s/4): nested divisions become one */
      {"(s/2+1)/3", "(s+2)/6"},  /* floor((floor(s/2)+1)/3) == floor((s+2)/6) */
      {"-(s/2)+s+40", "s+40-s/2"},
      {"-(s/2)+s", "s-s/2"}, /* never negative, though its range alone says -31 */
      {"2*(s/2)", "s/2*2"},
      {"s // a comment\n", "s"},
      {"+7", "7"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char in[512], want[512];
    snprintf(in, sizeof in,
             "module m\nsymbol b <= 8\nsymbol s <= 64\n\nENTRY %%e {\n  %%x = f32[%s]{0} parameter(0)\n"
             "  ROOT %%t = () tuple()\n}\n",
             cases[i].in);
    snprintf(want, sizeof want,
             "module m\nsymbol b <= 8\nsymbol s <= 64\n\nENTRY %%e {\n  %%x = f32[%s]{0} parameter(0)\n"
             "  ROOT %%t = () tuple()\n}\n",
             cases[i].out);
    assert_reprints_as(in, want);
  }
  /* A constant expression gives a static dimension. */
  ir_module *m = parse_ok("module m\nsymbol b <= 8\nENTRY %e { %x = f32[b-b+3] parameter(0) ROOT %t = () tuple() }");
  const ir_shape *x = &ir_module_entry(m)->insts[0].shape;
  assert_int_equal(x->dims[0], 3);
  assert_int_equal(x->sym[0], 0);
  ir_module_destroy(m);
}

/* Symbolic slice starts and limits and gather slice sizes print as
 * expressions; static ones as before. */
static void test_symbolic_attributes(void **state) {
  (void)state;
  static const char text[] =
      "module m\n"
      "symbol b <= 4\n"
      "symbol s <= 16\n"
      "\n"
      "ENTRY %main outputs={\"output0\", \"output1\", \"output2\"} {\n"
      "  %x = f32[b,s+2]{1,0} parameter(0)\n"
      "  %i = i32[3,1]{1,0} parameter(1)\n"
      "  %sl = f32[b,s]{1,0} slice(%x), slice={[0:b], [1:s+1]}\n"
      "  %st = f32[1,(s+1)/2]{1,0} slice(%x), slice={[b-1:b], [0:s:2]}\n"
      "  %g = f32[3,b]{1,0} gather(%x, %i), offset_dims={1}, collapsed_slice_dims={1}, start_index_map={1}, "
      "index_vector_dim=1, slice_sizes={b,1}\n"
      "  ROOT %t = (f32[b,s]{1,0}, f32[1,(s+1)/2]{1,0}, f32[3,b]{1,0}) tuple(%sl, %st, %g)\n"
      "}\n";
  assert_round_trips(text);
  ir_module *m = parse_ok(text);
  const ir_comp *c = ir_module_entry(m);
  ir_dexpr b = ir_sym_expr(m, 0), s = ir_sym_expr(m, 1);
  const ir_slice_attr *a = c->insts[2].a.slice;
  assert_int_equal(a->start_sym[0], 0);
  assert_int_equal(a->start[0], 0);
  assert_int_equal(a->limit_sym[0], b);
  assert_int_equal(a->limit[0], 4);
  assert_int_equal(a->start_sym[1], 0);
  assert_int_equal(a->start[1], 1);
  assert_int_equal(a->limit_sym[1], ir_dexpr_add_const(m, s, 1));
  assert_int_equal(a->limit[1], 17);
  a = c->insts[3].a.slice;
  assert_int_equal(a->start_sym[0], ir_dexpr_add_const(m, b, -1));
  assert_int_equal(a->start[0], 3);
  assert_int_equal(a->stride[1], 2);
  const ir_gather_dims *g = c->insts[4].a.gather;
  assert_int_equal(g->slice_sizes_sym[0], b);
  assert_int_equal(g->slice_sizes[0], 4);
  assert_int_equal(g->slice_sizes_sym[1], 0);
  assert_int_equal(g->slice_sizes[1], 1);
  ir_module_destroy(m);
}

/* A module built through the API prints as hand-written text that reads
 * back to the same text. */
static void test_symbolic_builder(void **state) {
  (void)state;
  fixture *f = fixture_new();
  ir_module *m = f->m;
  ir_dexpr b = ir_sym_declare(m, "batch", 16), s = ir_sym_declare(m, "seq", 128);
  assert_true(b && s);
  ir_shape x = ir_shape_make(IR_F32, 2, (int64_t[]){1, 768});
  assert_true(ir_shape_set_dim(m, &x, 0, ir_dexpr_mul(m, b, s)));
  ir_shape y = ir_shape_make(IR_F32, 1, (int64_t[]){1});
  assert_true(ir_shape_set_dim(m, &y, 0, ir_dexpr_add_const(m, ir_dexpr_floordiv(m, ir_dexpr_add_const(m, s, -3), 2), 1)));
  ir_id p0 = ir_parameter(&f->b, 0, x, "x");
  ir_id p1 = ir_parameter(&f->b, 1, y, "y");
  ir_id t = ir_tuple(&f->b, 2, (ir_id[]){p0, p1});
  assert_true(ir_set_root(&f->b, t, 2, (const char *const[]){"a", "b"}));
  char *p = ir_print_module(m, NULL);
  assert_string_equal(p, "module t\n"
                         "symbol batch <= 16\n"
                         "symbol seq <= 128\n"
                         "\n"
                         "ENTRY %main outputs={\"a\", \"b\"} {\n"
                         "  %parameter.0 = f32[batch*seq,768]{1,0} parameter(0), io_name=\"x\"\n"
                         "  %parameter.1 = f32[(seq+1)/2-1]{0} parameter(1), io_name=\"y\"\n"
                         "  ROOT %tuple.2 = (f32[batch*seq,768]{1,0}, f32[(seq+1)/2-1]{0}) tuple(%parameter.0, "
                         "%parameter.1)\n"
                         "}\n");
  char *q = reprint(p);
  assert_string_equal(q, p);
  free(p);
  free(q);
  fixture_free(f);
}

/* What the parser refuses, with the position of the offending token. */
static void test_symbolic_errors(void **state) {
  (void)state;
  static const struct {
    const char *syms, *shape, *msg;
  } bad[] = {
      {"", "f32[q]", "t.kir:2:21: error: unknown symbol 'q'"},
      {"symbol b <= 4", "f32[b,bb]", "t.kir:2:23: error: unknown symbol 'bb'"},
      {"symbol b <= 0", "f32[b]", "t.kir:1:22: error: symbol b has bound 0; a bound must be at least 1"},
      {"symbol b <= -3", "f32[b]", "symbol b has bound -3"},
      {"symbol 9b <= 4", "f32[2]", "t.kir:1:17: error: bad symbol name '9b'"},
      {"symbol b.c <= 4", "f32[2]", "bad symbol name 'b.c'"},
      {"symbol b 4", "f32[2]", "t.kir:1:19: error: expected '<=' and the symbol's bound, found '4'"},
      {"symbol b <=", "f32[2]", "expected the symbol's bound (an integer >= 1), found 'ENTRY'"},
      {"symbol b <= 4 symbol b <= 4", "f32[b]", "t.kir:1:31: error: symbol b is declared twice"},
      {"symbol s <= 8", "f32[s-2]", "t.kir:2:21: error: dimension s-2 may be negative (lower bound -1 within the symbols' bounds)"},
      {"symbol s <= 8", "f32[2,8-2*s]", "dimension 8-2*s may be negative (lower bound -8"},
      {"symbol s <= 8", "f32[s/0]", "t.kir:2:23: error: division by zero in a dimension expression"},
      {"symbol s <= 8", "f32[s/s]", "t.kir:2:23: error: expected a positive integer after '/' (floor division by a constant), found 's'"},
      {"symbol s <= 8", "f32[s/-2]", "expected a positive integer after '/' (floor division by a constant), found '-2'"},
      {"symbol s <= 8", "f32[s/]", "expected a positive integer after '/' (floor division by a constant), found ']'"},
      {"symbol s <= 8", "f32[s*]", "expected a dimension size, found ']'"},
      {"symbol s <= 8", "f32[(s+1]", "expected ')', found ']'"},
      {"symbol s <= 8", "f32[s s]", "expected ']', found 's'"},
      {"symbol b <= 8", "f32[b*b*b*b*b]", "t.kir:2:21: error: dimension expression is too large"},
      {"symbol b <= 8", "f32[9223372036854775807*b*2]", "dimension expression is too large"},
      {"", "f32[9223372036854775807+1]", "dimension expression is too large"},
      {"", "f32[99999999999999999999*2]", "t.kir:2:21: error: integer out of range"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char text[256];
    snprintf(text, sizeof text, "module m %s\nENTRY %%e { %%x = %s parameter(0) ROOT %%t = () tuple() }", bad[i].syms,
             bad[i].shape);
    assert_contains(parse_error(text), bad[i].msg);
  }
  /* Nesting is bounded (a fuzzer's "((((...": no deep recursion). */
  char deep[400];
  int k = snprintf(deep, sizeof deep, "module m symbol s <= 8 ENTRY %%e { %%x = f32[");
  for (int i = 0; i < 70; i++) deep[k++] = '(';
  snprintf(deep + k, sizeof deep - (size_t)k, "s");
  assert_contains(parse_error(deep), "dimension expression nested more than 64 deep");
  /* Symbols come before the first computation. */
  assert_contains(parse_error("module m\n%f {\n  ROOT %p = f32[] parameter(0)\n}\nsymbol b <= 4\n"
                              "ENTRY %e { ROOT %t = () tuple() }"),
                  "t.kir:5:1: error: symbols must be declared before the first computation");
  /* A wrong declared shape is reported with the symbolic result. */
  assert_contains(parse_error("module m symbol s <= 8 symbol b <= 8 ENTRY %e { %x = f32[s] parameter(0)\n"
                              "  %y = f32[b] neg(%x) ROOT %t = () tuple() }"),
                  "t.kir:2:3: error: declared shape does not match neg of its operands, which gives f32[s]{0}");
  /* Constants have static shapes (their literal has one size). */
  assert_contains(parse_error("module m symbol s <= 2 ENTRY %e { %c = f32[s] constant({1, 2}) ROOT %t = () tuple() }"),
                  "a constant's shape must be static, found f32[s]{0}");
  /* Symbolic slice bounds and gather slice sizes must be nonnegative. */
  assert_contains(parse_error("module m symbol s <= 8 ENTRY %e { %x = f32[s] parameter(0)\n"
                              "  %y = f32[2] slice(%x), slice={[s-2:s]} ROOT %t = () tuple() }"),
                  "t.kir:2:34: error: slice start s-2 may be negative");
  assert_contains(parse_error("module m symbol s <= 8 ENTRY %e { %x = f32[s] parameter(0)\n"
                              "  %y = f32[2] slice(%x), slice={[0:s-2]} ROOT %t = () tuple() }"),
                  "slice limit s-2 may be negative");
  assert_contains(parse_error("module m symbol s <= 8 ENTRY %e { %x = f32[s,4] parameter(0) %i = i32[3,1] parameter(1)\n"
                              "  %g = f32[3,4] gather(%x, %i), offset_dims={1}, collapsed_slice_dims={0}, "
                              "start_index_map={0}, index_vector_dim=1, slice_sizes={1-s,4} ROOT %t = () tuple() }"),
                  "slice size 1-s may be negative");
  /* Sizes that stay static refuse symbols as before. */
  assert_contains(parse_error("module m symbol s <= 8 ENTRY %e { %x = f32[8] parameter(0) %i = i32[] constant(0)\n"
                              "  %y = f32[2] dynamic_slice(%x, %i), dynamic_slice_sizes={s} ROOT %t = () tuple() }"),
                  "t.kir:2:59: error: expected an integer, found 's'");
}

int main(int argc, char **argv) {
  if (argc > 1) kir_dir = argv[1];
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_all_forms),    cmocka_unit_test(test_canonical_form), cmocka_unit_test(test_floats),
      cmocka_unit_test(test_long_tuples),
      cmocka_unit_test(test_integers),     cmocka_unit_test(test_strings),        cmocka_unit_test(test_layouts),
      cmocka_unit_test(test_elided_constants), cmocka_unit_test(test_message_format),
      cmocka_unit_test(test_builder_round_trip),
      cmocka_unit_test(test_symbolic_round_trip), cmocka_unit_test(test_symbolic_values),
      cmocka_unit_test(test_symbolic_canonical), cmocka_unit_test(test_symbolic_attributes),
      cmocka_unit_test(test_symbolic_builder), cmocka_unit_test(test_symbolic_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
