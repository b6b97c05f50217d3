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
     "usage: kiln opt FILE.kir [options]\n"
     "\n"
     "Parses and verifies FILE.kir (or imports FILE.onnx), optionally runs passes,\n"
     "and prints the IR in canonical form.\n"
     "\n"
     "  -o FILE              write the IR to FILE instead of standard output\n"
     "  --passes=LIST        run these passes (comma-separated; 'default' is the pipeline)\n"
     "  --disable-pass=LIST  skip these passes\n"
     "  --dump-after=LIST    print the IR to stderr after these passes ('all' for every one)\n"
     "  --list-passes        list the passes of the default pipeline\n"
     "  --elide-constants    print constants of more than 16 elements as {...}\n",
     cmd_opt},
    {"eval", "run a model in the reference interpreter",
     "usage: kiln eval MODEL (.kir or .onnx) --input NAME=FILE.npy ... [options]\n"
     "\n"
     "Runs the model in the reference interpreter and prints its outputs.\n"
     "\n"
     "  --input NAME=FILE.npy     value of input NAME (every input is needed)\n"
     "  --input-shape NAME=DIMS   bind the symbolic dimensions of input NAME, e.g. 1x3x224x224\n"
     "  --output-dir DIR          also write each output as DIR/<output name>.npy\n"
     "  --print-limit N           print at most N values of each output (default 16)\n",
     cmd_eval},
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
