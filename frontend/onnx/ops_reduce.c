/* Reductions: ReduceSum/Mean/Max/Min/Prod/L1/L2/LogSum/LogSumExp/SumSquare, ArgMax/ArgMin (to come). */
#include "frontend/onnx/ox.h"

const ox_op ox_ops_reduce[] = {
    {NULL, 0, NULL, NULL},
};
