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

int main(int argc, char **argv) {
  if (argc > 1) kir_dir = argv[1];
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_all_forms),    cmocka_unit_test(test_canonical_form), cmocka_unit_test(test_floats),
      cmocka_unit_test(test_long_tuples),
      cmocka_unit_test(test_integers),     cmocka_unit_test(test_strings),        cmocka_unit_test(test_layouts),
      cmocka_unit_test(test_elided_constants), cmocka_unit_test(test_message_format),
      cmocka_unit_test(test_builder_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
