/*
 * The `kiln` command line: a table of commands, each a thin layer over the
 * public API in include/kiln/kiln.h. Exit codes: 0 success, 1 failure of
 * the job (bad model, failed compile, mismatching outputs), 2 bad usage.
 */
#include <stdio.h>
#include <string.h>

#include "tools/cli.h"

static const cli_command commands[] = {
    {"opt", "parse, verify and print IR text",
     "usage: kiln opt FILE [options]\n"
     "       kiln opt --print-target [--target=TRIPLE] [--cpu=NAME] [--features=LIST]\n"
     "\n"
     "Parses and verifies FILE (kiln IR text, or an ONNX model, told apart by\n"
     "content), optionally runs passes, and prints the IR in canonical form.\n"
     "\n"
     "  -o FILE              write the IR to FILE instead of standard output\n"
     "  --input-shape NAME=DIMS  bind the symbolic dimensions of input NAME, e.g. 1x3x224x224\n"
     "  --max-shape NAME=DIMS    bound the symbolic dimensions of input NAME, e.g. 64x3x224x224\n"
     "                           (they stay symbolic, each up to its bound; docs/onnx-import.md)\n"
     "                           NAME may also be the output of a Range or ConstantOfShape of\n"
     "                           run-time inputs, to bound its sizes, e.g. r=1000 or filled=64x128\n"
     "  --passes=LIST        run these passes (comma-separated; 'default' is the pipeline)\n"
     "  --disable-pass=LIST  skip these passes\n"
     "  --dump-after=LIST    print the IR to stderr after these passes ('all' for every one)\n"
     "  --list-passes        list the passes of the default pipeline\n"
     "  --remarks            report the passes' decisions (fusion, rewrites) with reasons,\n"
     "                       after a first remark naming the target they were made for\n"
     "  --elide-constants    print constants of more than 16 elements as {...}\n"
     "  --target=TRIPLE      the target the passes decide for, as for kiln compile\n"
     "                       (default: this machine)\n"
     "  --cpu=NAME           LLVM CPU name, e.g. x86-64-v3, skylake-avx512, portable\n"
     "                       (default: this machine's)\n"
     "  --features=LIST      LLVM target features, e.g. +avx2,-avx512f\n"
     "  --print-target       print the target description the passes get (vector width,\n"
     "                       registers, GEMM tile and threshold, ...) and exit; no FILE\n",
     cmd_opt},
    {"eval", "run a model in the reference interpreter",
     "usage: kiln eval MODEL (IR text or ONNX) --input NAME=FILE.npy ... [options]\n"
     "\n"
     "Runs the model in the reference interpreter and prints its outputs.\n"
     "\n"
     "  --input NAME=FILE.npy     value of input NAME (every input is needed)\n"
     "  --input-shape NAME=DIMS   bind the symbolic dimensions of input NAME, e.g. 1x3x224x224\n"
     "                            (without it, a symbolic input takes the shape of its --input file)\n"
     "  --max-shape NAME=DIMS     bound the symbolic dimensions of input NAME, e.g. 64x3x224x224;\n"
     "                            the model is imported symbolic and run at the --input files' shapes\n"
     "                            NAME may also be the output of a Range or ConstantOfShape of\n"
     "                            run-time inputs, to bound its sizes, e.g. r=1000 or filled=64x128\n"
     "  --output-dir DIR          also write each output as DIR/<output name>.npy\n"
     "  --print-limit N           print at most N values of each output (default 16)\n",
     cmd_eval},
    {"import", "import an ONNX model and print its IR",
     "usage: kiln import MODEL.onnx [options]\n"
     "\n"
     "Imports the ONNX model and prints the IR. Every unsupported construct of\n"
     "the model is reported at once (node name, op type, domain and opset).\n"
     "\n"
     "  --input-shape NAME=DIMS   bind the symbolic dimensions of input NAME, e.g. 1x3x224x224\n"
     "  --max-shape NAME=DIMS     bound the symbolic dimensions of input NAME, e.g. 64x3x224x224\n"
     "                            (they stay symbolic, each up to its bound; docs/onnx-import.md)\n"
     "                            NAME may also be the output of a Range or ConstantOfShape of\n"
     "                            run-time inputs, to bound its sizes, e.g. r=1000 or filled=64x128\n"
     "  --input-value NAME=FILE.npy\n"
     "                            freeze input NAME to this value: it becomes a constant, so\n"
     "                            shapes computed from it (a Reshape's target, ...) are known\n"
     "  -o FILE                   write the IR to FILE instead of standard output\n"
     "  --elide-constants         print constants of more than 16 elements as {...}\n",
     cmd_import},
    {"test-onnx", "run ONNX backend test cases and compare outputs",
     "usage: kiln test-onnx [options] DIR...\n"
     "\n"
     "Each DIR is an ONNX backend test case (a folder with model.onnx and\n"
     "test_data_set_N/input_K.pb, output_K.pb) or a folder of such cases (all are\n"
     "run, in sorted order). Outputs are compared as ONNX's backend runner does\n"
     "(rtol 1e-3, atol 1e-7, NaN equals NaN, same dtype and shape). Prints one\n"
     "line per failing case with its reason and ends with\n"
     "'N passed, M failed, K skipped (P would pass with --freeze-shape-inputs)';\n"
     "a case kiln refuses as unsupported (string tensors, sequences, training ops,\n"
     "missing ops) is skipped. Every graph input is a real input: a case whose\n"
     "import needs inputs that decide shapes (a Reshape's shape, ...) frozen to\n"
     "the data set's values is skipped, naming them, unless --freeze-shape-inputs.\n"
     "\n"
     "  --engine=NAME        how to run the models: compiled (the default: the pass\n"
     "                       pipeline, then the JIT), interp (the reference interpreter),\n"
     "                       aot (the pass pipeline, then kiln compile to a .so)\n"
     "  --cpu=NAME           compiled and aot engines: LLVM CPU to generate code for, e.g.\n"
     "                       x86-64-v2, x86-64-v3 (default: this machine's)\n"
     "  --features=LIST      compiled and aot engines: LLVM target features, e.g. +avx2,+fma\n"
     "  --expect-pass FILE   FILE lists cases (e.g. node/test_abs), one a line, that must\n"
     "                       pass: exit 1 if any of them did not (without it: exit 1\n"
     "                       if any case failed)\n"
     "  --expect-unfrozen FILE\n"
     "                       FILE lists cases that must pass with every input real (none\n"
     "                       frozen), in either mode: exit 1 if any of them did not\n"
     "  --freeze-shape-inputs\n"
     "                       freeze the inputs a case's import needs known to each data\n"
     "                       set's values and count the case as run that way (the\n"
     "                       summary then says how many pass without freezing)\n"
     "  --list-passing       print the names of the cases passing in the mode given on\n"
     "                       standard output (the report then goes to standard error)\n"
     "  -v, --verbose        also print passing and skipped cases, with reasons and times\n",
     cmd_test_onnx},
    {"onnx-ops", "list the ONNX operators and versions kiln imports",
     "usage: kiln onnx-ops --markdown [-o FILE]\n"
     "\n"
     "Prints, as Markdown, every operator of ONNX's default domain up to the newest\n"
     "opset kiln reads: its versions, the opsets and versions kiln imports, and why\n"
     "an operator is not imported. This is docs/onnx-ops.md, generated from the\n"
     "importer's own tables (the test onnx/ops_doc fails when the file is stale).\n"
     "\n"
     "  --markdown                the format (the only one so far)\n"
     "  -o FILE                   write to FILE instead of standard output\n",
     cmd_onnx_ops},
    {"compile", "compile a model to a shared object and C header",
     "usage: kiln compile MODEL (IR text or ONNX) [-o FILE] [options]\n"
     "\n"
     "Runs the pass pipeline and compiles the model for the CPU: writes FILE\n"
     "(default: the model's file name with its last extension replaced by .so,\n"
     "in the current folder: my-model.v2.onnx gives my-model.v2.so) and its C\n"
     "header (FILE with .so replaced by .h). The artifact exports\n"
     "kiln_<name>_run and the generic kiln_artifact_info\n"
     "(include/kiln/artifact.h). Linking needs a C compiler driver (cc;\n"
     "<triple>-gcc when cross compiling). The output paths are checked before\n"
     "compiling; on failure no file is left behind.\n"
     "\n"
     "  -o FILE                   the shared object (or, with --emit, the stage's output;\n"
     "                            without -o --emit prints to standard output)\n"
     "  --name NAME               C name of the artifact (default: from FILE's name without\n"
     "                            its last extension, every character other than a letter,\n"
     "                            digit or '_' replaced by '_', a '_' put before a leading\n"
     "                            digit: my-model.v2.so gives kiln_my_model_v2_run)\n"
     "  --header FILE             where to write the header; --no-header: none\n"
     "  --emit=KIND               write one stage instead: ir (the IR after the passes),\n"
     "                            llvm (optimised LLVM IR), asm, obj, header\n"
     "  --buffer-plan             print the buffer plan after the passes instead of compiling:\n"
     "                            every value's storage (offset), size, live range (first and\n"
     "                            last launch) and the peak workspace (docs/ir.md)\n"
     "  --elide-constants         with --emit=ir: print constants of more than 16 elements as\n"
     "                            {...}; with --emit=llvm or asm: print constant data of more\n"
     "                            than 64 bytes as <elided> (the text says so; it no longer\n"
     "                            assembles)\n"
     "  --dump-after=LIST         print the IR to stderr after these passes ('all' for every one)\n"
     "  --input-shape NAME=DIMS   bind the symbolic dimensions of input NAME, e.g. 1x3x224x224\n"
     "  --max-shape NAME=DIMS     bound the symbolic dimensions of input NAME, e.g. 64x3x224x224:\n"
     "                            the artifact is compiled once and runs at any shape within the\n"
     "                            bounds (kiln_<name>_run_shaped; the header lists the symbols);\n"
     "                            a model with a kernel that cannot take run-time sizes yet (e.g.\n"
     "                            a pooling window along a symbolic dimension) is refused, naming\n"
     "                            the instruction\n"
     "                            NAME may also be the output of a Range or ConstantOfShape of\n"
     "                            run-time inputs, to bound its sizes, e.g. r=1000 or filled=64x128\n"
     "  --target=TRIPLE           cross compile, e.g. aarch64-linux-gnu (default: this machine)\n"
     "  --cpu=NAME                LLVM CPU name, e.g. znver4, x86-64-v3 (default: this machine's);\n"
     "                            portable: x86-64-v2, -v3 and -v4 kernels, the best picked at run time\n"
     "  --features=LIST           LLVM target features, e.g. +avx2,-avx512f\n"
     "                            (the target also steers the passes: the weights' GEMM panels,\n"
     "                            the tiling threshold; kiln opt --print-target shows what they see)\n"
     "  -O0 .. -O3                LLVM optimisation level (default -O3)\n"
     "  --linker=DRIVER           C compiler driver that links the .so\n"
     "  --passes=LIST             run these passes instead of the default pipeline\n"
     "  --disable-pass=LIST       skip these passes\n"
     "  --time                    print how long each phase took\n"
     "  --remarks                 report the passes' decisions (fusion, rewrites) with reasons, and each GEMM's tile\n"
     "  --instrument              compile in the kernel table and trace hook that kiln profile\n"
     "                            and kiln verify read (off: no cost; docs/codegen.md, \"Instrumentation\")\n"
     "  --debug-perturb=NAME      for testing kiln verify only: the kernel of entry instruction\n"
     "                            NAME (as in the optimised IR) adds 1 to its first output element\n",
     cmd_compile},
    {"run", "run a compiled artifact, or JIT and run a model, on .npy inputs",
     "usage: kiln run ARTIFACT.so|MODEL --input NAME=FILE.npy ... [options]\n"
     "\n"
     "Runs a shared object made by kiln compile, or a model (ONNX or kiln IR\n"
     "text; the kind is told by content) compiled in process by the JIT (the\n"
     "pass pipeline, then the same code generator as kiln compile), and prints\n"
     "its outputs. An artifact or model with symbolic dimensions runs at the\n"
     "shapes of the --input files: each symbol (batch, ...) takes its value from\n"
     "them, within its bound; a shape beyond a bound or inconsistent with the\n"
     "others is refused, naming the input and dimension, and nothing is written.\n"
     "\n"
     "  --input NAME=FILE.npy     value of input NAME (every input is needed)\n"
     "  --output-dir DIR          also write each output as DIR/<output name>.npy\n"
     "  --threads N               threads for parallel loops (default: one per core)\n"
     "  --repeat N                after one warm-up run, time N more runs and print the\n"
     "                            min/median/max latency\n"
     "  --print-limit N           print at most N values of each output (default 16)\n"
     "  -v, --verbose             say on stderr how a model with symbolic dimensions was\n"
     "                            compiled (once, or at the --input shapes)\n"
     "\n"
     "For a model (JIT) only (refused for an artifact, whose code is already built):\n"
     "  --input-shape NAME=DIMS   bind the symbolic dimensions of input NAME, e.g. 1x3x224x224\n"
     "                            (without it, a symbolic input takes the shape of its --input file)\n"
     "  --max-shape NAME=DIMS     bound the symbolic dimensions of input NAME, e.g. 64x3x224x224;\n"
     "                            the model is imported symbolic, compiled once and run at the\n"
     "                            --input files' shapes (where code generation cannot take\n"
     "                            run-time sizes for it yet, it is compiled at those shapes)\n"
     "                            NAME may also be the output of a Range or ConstantOfShape of\n"
     "                            run-time inputs, to bound its sizes, e.g. r=1000 or filled=64x128\n"
     "  -O0 .. -O3                LLVM optimisation level (default -O3)\n"
     "  --passes=LIST             run these passes instead of the default pipeline\n"
     "  --disable-pass=LIST       skip these passes\n"
     "  --time                    print how long loading, passes and JIT compilation took\n"
     "  --perf-map                append the JIT'd functions to /tmp/perf-PID.map, so that\n"
     "                            perf report names the kernels (also: KILN_PERF_MAP=1)\n"
     "  --instrument              compile in the kernel table and trace hook (as kiln compile)\n"
     "  --debug-perturb=NAME      for testing kiln verify only: kernel NAME adds 1 to its first\n"
     "                            output element (as kiln compile)\n",
     cmd_run},
    {"info", "describe a compiled artifact: inputs, outputs, symbols, target",
     "usage: kiln info ARTIFACT.so\n"
     "\n"
     "Prints what a shared object made by kiln compile holds: its C name, the kiln\n"
     "that made it, the target triple and CPU, the symbols of a model compiled with\n"
     "--max-shape and their ranges, each input and output with its shape (symbolic\n"
     "dimensions by name or expression, e.g. f32[batch,16], batch in [1, 8]) and\n"
     "size in bytes (at the bounds), the workspace, and the kernel count of an\n"
     "instrumented artifact.\n",
     cmd_info},
    {"profile", "time every kernel of a model or instrumented artifact; trace and HTML report",
     "usage: kiln profile MODEL|ARTIFACT.so [options]\n"
     "\n"
     "Times every kernel over several runs and prints a table sorted by time:\n"
     "kernel, the ONNX nodes it covers, kind, shape, FLOPs, GFLOP/s and share of\n"
     "the machine's peak (measured at start: one core's f32 FMA rate x threads),\n"
     "bytes moved, GB/s, median time and share; then totals (sum of the kernels'\n"
     "medians against the median end-to-end latency), the buffer plan's peak\n"
     "memory and the thread pool's idle share (docs/profile.md). A MODEL (ONNX or\n"
     "kiln IR text) is JIT-compiled with instrumentation; an ARTIFACT must come\n"
     "from kiln compile --instrument.\n"
     "\n"
     "  --input NAME=FILE.npy     value of input NAME (give every input, or none)\n"
     "  --seed N                  without --input: random inputs from seed N (default 0):\n"
     "                            floats uniform in [-1, 1), integers 0, booleans random\n"
     "  --threads N               threads for parallel loops (default: one per core)\n"
     "  --warmup N                untimed runs first (default 3)\n"
     "  --runs N                  timed runs; each kernel's time is its median (default 20)\n"
     "  --trace FILE.json         write the last run as Chrome trace event JSON: each\n"
     "                            kernel on the run's thread, each thread's share of it\n"
     "                            (open in chrome://tracing or ui.perfetto.dev)\n"
     "  --html FILE.html          write a self-contained page: the time breakdown drawn\n"
     "                            as bars (top 20 kernels and the rest), and the table\n"
     "  --svg FILE.svg            write the time breakdown alone as SVG\n"
     "\n"
     "For a model (JIT) only:\n"
     "  --input-shape NAME=DIMS   bind the symbolic dimensions of input NAME, e.g. 1x3x224x224\n"
     "  --max-shape NAME=DIMS     bound the symbolic dimensions of input NAME, e.g. 64x3x224x224\n"
     "                            (they stay symbolic, each up to its bound; docs/onnx-import.md)\n"
     "                            NAME may also be the output of a Range or ConstantOfShape of\n"
     "                            run-time inputs, to bound its sizes, e.g. r=1000 or filled=64x128\n"
     "  --passes=LIST             run these passes instead of the default pipeline\n"
     "  --disable-pass=LIST       skip these passes\n",
     cmd_profile},
    {"verify", "check compiled code against a reference; bisect to a wrong kernel",
     "usage: kiln verify MODEL (IR text or ONNX) [options]\n"
     "\n"
     "Compiles MODEL (the pass pipeline, then the JIT), runs it and a reference on\n"
     "the same inputs and prints, per output, the max absolute and relative error,\n"
     "the tolerance and PASS or FAIL. The default reference is kiln's interpreter\n"
     "on the model before the passes. On a mismatch it bisects: it recompiles with\n"
     "instrumentation, compares each kernel's output (in launch order) with the\n"
     "interpreter's value of the same instruction of the optimised IR, names the\n"
     "first kernel that differs (kind, shape, fused instructions, ONNX nodes) and\n"
     "writes a reproducer: that kernel's IR, its inputs as .npy, the expected output\n"
     "and a README with the commands that replay it (docs/verify.md).\n"
     "Exit 0: every output passes; 1: a mismatch (or a failure); 2: bad usage.\n"
     "\n"
     "  --input NAME=FILE.npy     value of input NAME (give every input, or none)\n"
     "  --seed N                  without --input: random inputs from seed N (default 0):\n"
     "                            floats uniform in [-1, 1), integers 0, booleans random\n"
     "  --input-shape NAME=DIMS   bind the symbolic dimensions of input NAME, e.g. 1x3x224x224\n"
     "  --max-shape NAME=DIMS     bound the symbolic dimensions of input NAME, e.g. 64x3x224x224\n"
     "                            (they stay symbolic, each up to its bound; docs/onnx-import.md)\n"
     "                            NAME may also be the output of a Range or ConstantOfShape of\n"
     "                            run-time inputs, to bound its sizes, e.g. r=1000 or filled=64x128\n"
     "  --reference=REF           interp (default): the interpreter on the unoptimised model;\n"
     "                            ort: ONNX Runtime (ONNX models; tools/install-deps.sh --bench\n"
     "                            installs it for benchmarks/ort_run.js, or Python's onnxruntime)\n"
     "  --rtol=X, --atol=X        an output passes when |got - ref| <= atol + rtol * |ref| for\n"
     "                            every element; a kernel in the bisection when |got - ref| <=\n"
     "                            atol + rtol * max(|ref|, rms of ref). Defaults: f32 1e-4 and\n"
     "                            1e-5, f64 1e-9 and 1e-12, f16 1e-2 and 1e-3, bf16 5e-2 and\n"
     "                            1e-2; integers and booleans exact\n"
     "  --repro-dir DIR           where a mismatch's reproducer goes (default kiln-verify-repro)\n"
     "  --threads N               threads for parallel loops (default: one per core)\n"
     "  --cpu=NAME                LLVM CPU to compile for (default: this machine's)\n"
     "  --features=LIST           LLVM target features, e.g. +avx2,-avx512f\n"
     "  --passes=LIST             run these passes instead of the default pipeline\n"
     "  --disable-pass=LIST       skip these passes\n"
     "  --kernels                 also compare every kernel with the interpreter when the\n"
     "                            outputs pass, printing each one's errors\n"
     "  --debug-perturb=NAME      for testing kiln verify only: the kernel of instruction NAME\n"
     "                            (as in the optimised IR) adds 1 to its first output element\n",
     cmd_verify},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f) {
  fprintf(f,
          "kiln %s: a graph compiler for neural networks\n"
          "\n"
          "usage: kiln COMMAND [ARGS...]\n"
          "       kiln --help | --version\n"
          "       kiln COMMAND --help\n"
          "\n"
          "commands:\n",
          kiln_version());
  for (size_t i = 0; i < NCOMMANDS; i++) fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    if (argc > 2) {
      for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(argv[2], commands[i].name)) {
          fputs(commands[i].usage, stdout);
          return 0;
        }
      cli_error("unknown command '%s' (see kiln --help)", argv[2]);
      return 2;
    }
    usage(stdout);
    return 0;
  }
  if (!strcmp(argv[1], "--version")) {
    printf("kiln %s\n", kiln_version());
    return 0;
  }
  for (size_t i = 0; i < NCOMMANDS; i++) {
    if (strcmp(argv[1], commands[i].name)) continue;
    for (int a = 2; a < argc; a++)
      if (!strcmp(argv[a], "--help") || !strcmp(argv[a], "-h")) {
        fputs(commands[i].usage, stdout);
        return 0;
      }
    return commands[i].run(argc - 1, argv + 1);
  }
  cli_error("unknown command '%s' (see kiln --help)", argv[1]);
  return 2;
}
