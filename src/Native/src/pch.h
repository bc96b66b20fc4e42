// Precompiled header: the torch headers take most of the shim's compile time.
#pragma once
#include <torch/torch.h>
#include <ATen/ATen.h>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>
