// tg::nn: modules, layers, initialisation, functional forms, losses and serialisation.
#pragma once

#include "nn/activation.h"
#include "nn/checkpoint.h"
#include "nn/container.h"
#include "nn/conv.h"
#include "nn/dropout.h"
#include "nn/embedding.h"
#include "nn/functional.h"
#include "nn/init.h"
#include "nn/linear.h"
#include "nn/loss.h"
#include "nn/module.h"
#include "nn/norm.h"
#include "nn/pooling.h"
#include "nn/serialize.h"
#include "nn/shape.h"
