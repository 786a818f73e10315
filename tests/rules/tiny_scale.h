// Header of a plain cc_library that the tiny CUDA library depends on: its include path must reach nvcc.
#pragma once

constexpr int kTinyScale = 3;
