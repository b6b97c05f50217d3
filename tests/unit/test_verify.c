/*
 * Verifier (ir_verify): modules built by hand with ir_comp_append, which
 * checks nothing, so that each breaks exactly one invariant of ir.h. Each
 * must be reported with a message naming the computation, the instruction
 * (where there is one) and the rule; a valid module gives no message.
 */
#include "tests/unit/unit.h"

#define D(...) ((const int64_t[]){__VA_ARGS__})

/* Appends an instruction without any checking. */
static ir_id add(ir_module *m, ir_comp *c, ir_op op, const char *name, ir_shape shape, uint32_t nops,
                 const ir_id *ops) {
  ir_inst in;
  memset(&in, 0, sizeof in);
  in.op = op;
  in.name = name;
  in.shape = shape;
  in.nops = nops;
  in.ops = (ir_id *)ops;
  ir_id id = ir_comp_append(m, c, &in);
  assert_int_not_equal(id, IR_NONE);
  return id;
}

static ir_id add_param(ir_module *m, ir_comp *c, const char *name, int64_t number, ir_shape shape) {
  ir_id id = add(m, c, IR_OP_PARAMETER, name, shape, 0, NULL);
  c->insts[id].index = number;
  return id;
}

static ir_id add_tuple(ir_module *m, ir_comp *c, const char *name, uint32_t n, const ir_id *ops) {
  ir_inst in;
  memset(&in, 0, sizeof in);
  in.op = IR_OP_TUPLE;
  in.name = name;
  in.shape.type = IR_TUPLE;
  ir_shape t[8];
  for (uint32_t i = 0; i < n; i++) t[i] = c->insts[ops[i]].shape;
  in.ntuple = n;
  in.tuple = t;
  in.nops = n;
  in.ops = (ir_id *)ops;
  ir_id id = ir_comp_append(m, c, &in);
  assert_int_not_equal(id, IR_NONE);
  return id;
}

static void set_entry_root(ir_module *m, ir_comp *c, ir_id root, uint32_t n) {
  c->root = root;
  c->noutputs = n;
  c->output_names = arena_alloc(&m->arena, (n ? n : 1) * sizeof(char *), 8);
  for (uint32_t i = 0; i < n; i++) {
    char b[16];
    snprintf(b, sizeof b, "y%u", i);
    c->output_names[i] = arena_strdup(&m->arena, b);
  }
}

/* main(x: f32[2]) = (neg(x)) */
static ir_module *valid_module(void) {
  ir_module *m = ir_module_create("v");
  ir_comp *c = ir_comp_add(m, "main", true);
  ir_shape s = ir_shape_make(IR_F32, 1, D(2));
  ir_id x = add_param(m, c, "x", 0, s);
  ir_id n = add(m, c, IR_OP_NEG, "n", s, 1, &x);
  set_entry_root(m, c, add_tuple(m, c, "t", 1, &n), 1);
  return m;
}

/* Verifies m, expecting failure with each of the given substrings present
 * in the messages, then destroys m. */
static void expect_invalid(ir_module *m, const char *const *needles, int n) {
  msgs d;
  msgs_init(&d);
  assert_false(ir_verify(m, &d.sink));
  assert_true(d.count >= 1);
  assert_int_equal(d.sink.errors, d.count);
  for (int i = 0; i < n; i++) assert_contains(d.text, needles[i]);
  ir_module_destroy(m);
}
#define EXPECT_INVALID(m, ...)                                              \
  do {                                                                      \
    const char *const n_[] = {__VA_ARGS__};                                 \
    expect_invalid((m), n_, (int)(sizeof n_ / sizeof n_[0]));               \
  } while (0)

static void test_valid(void **state) {
  (void)state;
  ir_module *m = valid_module();
  msgs d;
  msgs_init(&d);
  assert_true(ir_verify(m, &d.sink));
  assert_int_equal(d.count, 0);
  /* A NULL sink is allowed. */
  assert_true(ir_verify(m, NULL));
  ir_module_destroy(m);
}

static void test_operand_after_use(void **state) {
  (void)state;
  ir_module *m = ir_module_create("v");
  ir_comp *c = ir_comp_add(m, "main", true);
  ir_shape s = ir_shape_make(IR_F32, 1, D(2));
  ir_id later = 1;
  ir_id n = add(m, c, IR_OP_NEG, "n", s, 1, &later);
  add_param(m, c, "x", 0, s);
  set_entry_root(m, c, add_tuple(m, c, "t", 1, &n), 1);
  EXPECT_INVALID(m, "computation %main, instruction %n (neg): operand 0 is not defined before its use");

  /* An operand that is the instruction itself, and one past the end. */
  m = ir_module_create("v");
  c = ir_comp_add(m, "main", true);
  ir_id x = add_param(m, c, "x", 0, s);
  ir_id self = 1, past = 99;
  ir_id a = add(m, c, IR_OP_ADD, "a", s, 2, (ir_id[]){x, self});
  ir_id b = add(m, c, IR_OP_NEG, "b", s, 1, &past);
  set_entry_root(m, c, add_tuple(m, c, "t", 2, (ir_id[]){a, b}), 2);
  EXPECT_INVALID(m, "computation %main, instruction %a (add): operand 1 is not defined before its use",
                 "computation %main, instruction %b (neg): operand 0 is not defined before its use");
}

static void test_duplicate_names(void **state) {
  (void)state;
  ir_module *m = ir_module_create("v");
  ir_comp *c = ir_comp_add(m, "main", true);
  ir_shape s = ir_shape_make(IR_F32, 1, D(2));
  ir_id x = add_param(m, c, "x", 0, s);
  ir_id n = add(m, c, IR_OP_NEG, "x", s, 1, &x);
  set_entry_root(m, c, add_tuple(m, c, "t", 1, &n), 1);
  EXPECT_INVALID(m, "computation %main, instruction %x (neg): name is used twice in the module");

  /* Across computations: names are module-wide. */
  m = ir_module_create("v");
  ir_comp *f = ir_comp_add(m, "f", false);
  ir_id p = add_param(m, f, "p", 0, s);
  f->root = add(m, f, IR_OP_NEG, "shared", s, 1, &p);
  c = ir_comp_add(m, "main", true);
  x = add_param(m, c, "x", 0, s);
  n = add(m, c, IR_OP_ABS, "shared", s, 1, &x);
  set_entry_root(m, c, add_tuple(m, c, "t", 1, &n), 1);
  EXPECT_INVALID(m, "computation %main, instruction %shared (abs): name is used twice in the module");

  /* Names must be identifiers: the text form prints them bare. */
  m = valid_module();
  m->comps[0]->insts[1].name = "has space";
  EXPECT_INVALID(m, "computation %main, instruction %has space (neg): the name is not an identifier");
  m = valid_module();
  m->comps[0]->insts[1].name = "";
  EXPECT_INVALID(m, "computation %main, instruction 1 (neg): has no name");
  m = valid_module();
  m->comps[0]->name = "ma/in";
  EXPECT_INVALID(m, "module v: computation name %ma/in is not an identifier");

  /* Computation names. */
  m = valid_module();
  ir_comp *g = ir_comp_add(m, "main", false);
  p = add_param(m, g, "q", 0, s);
  g->root = p;
  EXPECT_INVALID(m, "module v: computation name %main is used twice");

  /* Output and input names. */
  m = ir_module_create("v");
  c = ir_comp_add(m, "main", true);
  x = add_param(m, c, "x", 0, s);
  ir_id y = add_param(m, c, "y", 1, s);
  c->insts[x].io_name = "in";
  c->insts[y].io_name = "in";
  set_entry_root(m, c, add_tuple(m, c, "t", 2, (ir_id[]){x, y}), 2);
  c->output_names[1] = "y0";
  EXPECT_INVALID(m, "computation %main, instruction %t (tuple): output name \"y0\" is used twice",
                 "computation %main, instruction %y (parameter): input name \"in\" is also used by %x");
}

static void test_declared_shape(void **state) {
  (void)state;
  ir_module *m = ir_module_create("v");
  ir_comp *c = ir_comp_add(m, "main", true);
  ir_id x = add_param(m, c, "x", 0, ir_shape_make(IR_F32, 1, D(2)));
  ir_id n = add(m, c, IR_OP_NEG, "n", ir_shape_make(IR_F32, 1, D(3)), 1, &x);
  set_entry_root(m, c, add_tuple(m, c, "t", 1, &n), 1);
  EXPECT_INVALID(m, "computation %main, instruction %n (neg): declared shape f32[3]{0}, but the operands give f32[2]{0}");

  /* Element type counts; layout does not. */
  m = ir_module_create("v");
  c = ir_comp_add(m, "main", true);
  x = add_param(m, c, "x", 0, ir_shape_make(IR_F32, 2, D(2, 2)));
  ir_shape col = ir_shape_make(IR_F32, 2, D(2, 2));
  col.minor_to_major[0] = 0;
  col.minor_to_major[1] = 1;
  ir_id ok = add(m, c, IR_OP_NEG, "ok", col, 1, &x);
  ir_id cmp = add(m, c, IR_OP_COMPARE, "cmp", ir_shape_make(IR_F32, 2, D(2, 2)), 2, (ir_id[]){x, x});
  set_entry_root(m, c, add_tuple(m, c, "t", 2, (ir_id[]){ok, cmp}), 2);
  EXPECT_INVALID(m, "instruction %cmp (compare): declared shape f32[2,2]{1,0}, but the operands give pred[2,2]{1,0}");

  /* A tuple whose declared element shapes disagree with its operands. */
  m = ir_module_create("v");
  c = ir_comp_add(m, "main", true);
  x = add_param(m, c, "x", 0, ir_shape_make(IR_F32, 1, D(2)));
  ir_id t = add_tuple(m, c, "t", 1, &x);
  c->insts[t].tuple[0] = ir_shape_make(IR_F32, 1, D(5));
  set_entry_root(m, c, t, 1);
  EXPECT_INVALID(m, "instruction %t (tuple): declared shape (f32[5]{0}), but the operands give (f32[2]{0})");

  /* A shape rule broken outright. */
  m = ir_module_create("v");
  c = ir_comp_add(m, "main", true);
  x = add_param(m, c, "x", 0, ir_shape_make(IR_F32, 1, D(2)));
  ir_id y = add_param(m, c, "y", 1, ir_shape_make(IR_F32, 1, D(3)));
  ir_id a = add(m, c, IR_OP_ADD, "a", ir_shape_make(IR_F32, 1, D(2)), 2, (ir_id[]){x, y});
  set_entry_root(m, c, add_tuple(m, c, "t", 1, &a), 1);
  EXPECT_INVALID(m, "computation %main, instruction %a (add): add operands differ: f32[2]{0} and f32[3]{0}");

  /* An invalid layout. */
  m = valid_module();
  m->comps[0]->insts[1].shape.minor_to_major[0] = 1;
  EXPECT_INVALID(m, "computation %main, instruction %n (neg): layout is not a permutation of the dimensions");

  /* Panel layouts only on constants (and fusion parameters): never on a
   * computed value or an entry input, which are not padded. */
  m = ir_module_create("v");
  c = ir_comp_add(m, "main", true);
  ir_shape pan = ir_shape_make(IR_F32, 2, D(4, 3));
  pan.panel = 2;
  x = add_param(m, c, "x", 0, pan);
  ir_id ng = add(m, c, IR_OP_NEG, "ng", pan, 1, &x);
  set_entry_root(m, c, add_tuple(m, c, "t", 1, &ng), 1);
  EXPECT_INVALID(m,
                 "computation %main, instruction %x (parameter): a panel layout is only allowed on constants and on "
                 "the parameters of non-entry computations",
                 "computation %main, instruction %ng (neg): a panel layout is only allowed on constants and on the "
                 "parameters of non-entry computations");

  /* ... and a panelled constant is not an output as it is. */
  m = ir_module_create("v");
  c = ir_comp_add(m, "main", true);
  ir_id k = add(m, c, IR_OP_CONSTANT, "k", pan, 0, NULL);
  m->comps[0]->insts[k].data = arena_alloc(&m->arena, 4 * 3 * 4, 64);
  set_entry_root(m, c, add_tuple(m, c, "t", 1, &k), 1);
  EXPECT_INVALID(m, "instruction %t (tuple): output 0 is %k, which has a panel layout");
}

static void test_parameter_numbers(void **state) {
  (void)state;
  ir_shape s = ir_shape_make(IR_F32, 1, D(2));
  ir_module *m = ir_module_create("v");
  ir_comp *c = ir_comp_add(m, "main", true);
  ir_id a = add_param(m, c, "a", 0, s);
  ir_id b = add_param(m, c, "b", 2, s);
  set_entry_root(m, c, add_tuple(m, c, "t", 2, (ir_id[]){a, b}), 2);
  EXPECT_INVALID(m, "computation %main, instruction %b (parameter): parameter number 2 is out of range (with 2 "
                    "parameters the numbers must be 0..1, each once)");

  m = ir_module_create("v");
  c = ir_comp_add(m, "main", true);
  a = add_param(m, c, "a", 1, s);
  b = add_param(m, c, "b", 1, s);
  set_entry_root(m, c, add_tuple(m, c, "t", 2, (ir_id[]){a, b}), 2);
  EXPECT_INVALID(m, "computation %main, instruction %b (parameter): parameter number 1 is also used by %a");

  m = ir_module_create("v");
  c = ir_comp_add(m, "main", true);
  a = add_param(m, c, "a", -1, s);
  set_entry_root(m, c, add_tuple(m, c, "t", 1, &a), 1);
  EXPECT_INVALID(m, "computation %main, instruction %a (parameter): parameter number -1 is negative");

  /* io_name belongs to entry parameters only. */
  m = valid_module();
  ir_comp *f = ir_comp_add(m, "f", false);
  ir_id p = add_param(m, f, "p", 0, s);
  f->insts[p].io_name = "nope";
  f->root = p;
  EXPECT_INVALID(m, "computation %f, instruction %p: io_name is only allowed in the entry computation");
}

static void test_roots_and_entries(void **state) {
  (void)state;
  ir_shape s = ir_shape_make(IR_F32, 1, D(2));
  ir_module *m = ir_module_create("v");
  ir_comp *c = ir_comp_add(m, "main", true);
  ir_id x = add_param(m, c, "x", 0, s);
  ir_id n = add(m, c, IR_OP_NEG, "n", s, 1, &x);
  set_entry_root(m, c, n, 0);
  EXPECT_INVALID(m, "computation %main, instruction %n (neg): the entry ROOT must be a tuple of the outputs");

  m = valid_module();
  m->comps[0]->noutputs = 2;
  EXPECT_INVALID(m, "computation %main, instruction %t (tuple): 2 output names for a ROOT tuple of 1");

  m = valid_module();
  m->comps[0]->root = IR_NONE;
  EXPECT_INVALID(m, "computation %main: has no ROOT instruction");
  m = valid_module();
  m->comps[0]->root = 17;
  EXPECT_INVALID(m, "computation %main: has no ROOT instruction");

  m = ir_module_create("v");
  c = ir_comp_add(m, "f", false);
  c->root = add_param(m, c, "x", 0, s);
  EXPECT_INVALID(m, "module v: needs exactly one ENTRY computation, has 0");

  m = valid_module();
  c = ir_comp_add(m, "second", true);
  x = add_param(m, c, "x2", 0, s);
  set_entry_root(m, c, add_tuple(m, c, "t2", 1, &x), 1);
  EXPECT_INVALID(m, "module v: needs exactly one ENTRY computation, has 2");
}

/* A computation %name(p: f32[2]) whose root is fusion(p) calling comp `calls`
 * (no check: the callee may be itself or not exist yet). */
static ir_comp *fusing_comp(ir_module *m, const char *name, const char *fname, uint32_t calls) {
  ir_comp *c = ir_comp_add(m, name, false);
  char pn[32];
  snprintf(pn, sizeof pn, "%s.p", name);
  ir_id p = add_param(m, c, pn, 0, ir_shape_make(IR_F32, 1, D(2)));
  ir_id fu = add(m, c, IR_OP_FUSION, fname, ir_shape_make(IR_F32, 1, D(2)), 1, &p);
  c->insts[fu].called = calls;
  c->root = fu;
  return c;
}

static void test_fusion_cycles(void **state) {
  (void)state;
  /* %f calls itself. */
  ir_module *m = valid_module();
  fusing_comp(m, "f", "self_call", 1);
  EXPECT_INVALID(m, "computation %f, instruction %self_call (fusion): calls %f, which is already on the call path");

  /* %g calls %h, %h calls %g. */
  m = valid_module();
  fusing_comp(m, "g", "g_calls_h", 2);
  fusing_comp(m, "h", "h_calls_g", 1);
  EXPECT_INVALID(m, "(fusion): calls %", "which is already on the call path");

  /* The entry may not be called, and a callee must exist. */
  m = valid_module();
  ir_comp *f = fusing_comp(m, "f", "calls_entry", 0);
  (void)f;
  EXPECT_INVALID(m, "computation %f, instruction %calls_entry (fusion): fusion cannot call the entry computation");
  m = valid_module();
  fusing_comp(m, "f", "calls_nothing", 42);
  EXPECT_INVALID(m, "computation %f, instruction %calls_nothing (fusion): fusion calls no computation");
}

static void test_many_problems_at_once(void **state) {
  (void)state;
  ir_module *m = ir_module_create("v");
  ir_comp *c = ir_comp_add(m, "main", true);
  ir_shape s = ir_shape_make(IR_F32, 1, D(2));
  ir_id x = add_param(m, c, "x", 0, s);
  ir_id a = add(m, c, IR_OP_EXP, "a", ir_shape_make(IR_F32, 1, D(4)), 1, &x);
  ir_id b = add(m, c, IR_OP_NOT, "b", s, 1, &x);
  ir_id dup = add(m, c, IR_OP_NEG, "a", s, 1, &x);
  set_entry_root(m, c, add_tuple(m, c, "t", 3, (ir_id[]){a, b, dup}), 3);
  msgs d;
  msgs_init(&d);
  assert_false(ir_verify(m, &d.sink));
  assert_int_equal(d.count, 3);
  assert_contains(d.text, "instruction %a (exp): declared shape f32[4]{0}, but the operands give f32[2]{0}");
  assert_contains(d.text, "instruction %b (not): not needs a pred or integer operand, got f32");
  assert_contains(d.text, "instruction %a (neg): name is used twice in the module");
  ir_module_destroy(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid),          cmocka_unit_test(test_operand_after_use),
      cmocka_unit_test(test_duplicate_names), cmocka_unit_test(test_declared_shape),
      cmocka_unit_test(test_parameter_numbers), cmocka_unit_test(test_roots_and_entries),
      cmocka_unit_test(test_fusion_cycles),  cmocka_unit_test(test_many_problems_at_once),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
