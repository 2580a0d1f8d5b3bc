// tapegrad: the whole public API in one include.
#pragma once

#include "autograd/dtype.h"
#include "autograd/engine.h"
#include "autograd/error.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "autograd/random.h"
#include "autograd/storage.h"
#include "autograd/tensor.h"
#include "backends/kernels.h"
#include "autograd/gradcheck.h"
#include "autograd/npy.h"
#include "autograd/anomaly.h"
#include "autograd/profiler.h"
#include "autograd/graph_dump.h"
