// Host-side decisions of the launcher, free of CUDA so that they are unit-tested on any machine:
// argument validation, the choice of kernel instantiation, and the stream-K work split.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "marlin/launch_types.h"
#include "marlin/marlin.h"

namespace marlin {

struct DeviceLimits {
  int sm_count;            // multiprocessors to spread the work over
  int max_smem_per_block;  // opt-in dynamic shared memory limit
  int compute_capability;  // major * 10 + minor, e.g. 75, 90
};

struct LaunchPlan {
  KernelKey key;
  int smem_bytes;
  WorkSplit split;  // tile counts, and the blocks (grid) and their work
};

// Pipeline depths: the sm80 family's 4 stages (cp.async), and the sm75 family's 2 (Turing, through registers).
constexpr int kStages = 4;
constexpr int kTuringStages = 2;

// Fewest K steps per block's stream-K share: twice the pipeline depth with one M block, more with two or more,
// whose partial sums cost more to reduce (see split_work).
constexpr int kMinShare = 2 * kStages;
constexpr int kMinMultiBlockShare = 16;
// Tiles left over after the whole waves are taken whole too when they leave at most 1 / kFullWaveDiv of the
// blocks idle (see split_work).
constexpr int kFullWaveDiv = 16;
// Stream-K shares grow by at most 1 / kEqualPiecesDiv to split every tile into equal pieces (see split_work).
constexpr int kEqualPiecesDiv = 20;

// Workspace bytes for a launch spread over sm_count multiprocessors: two fp32 partial-sum slots (a block's first
// and last piece of a split tile) and one arrival counter per block (kMaxBlocksPerSm per multiprocessor).
size_t workspace_bytes_for(int sm_count);
// Where the counters start in that workspace: the bytes of the partial-sum slots before them.
size_t partials_bytes_for(int sm_count);

// Empty when the arguments are acceptable, else one sentence naming the bad argument and what is allowed.
// Checks everything that does not depend on the device or on what was built.
std::string validate_gemm_args(const marlin_gemm_args& args);

// Chooses the instantiation: the first candidate thread config that fits the shape and shared memory and is
// built, as `is_built` says; 4-stage kernels first, then 2-stage ones (the only ones on Turing). Fills plan's key,
// smem_bytes and tile counts. Expects validated arguments.
marlin_status plan_gemm(const marlin_gemm_args& args, const DeviceLimits& limits,
                        const std::function<bool(const KernelKey&)>& is_built, LaunchPlan* plan, std::string* err);

// The most blocks per multiprocessor the workspace holds slots for with this kernel: kMaxBlocksPerSm, or half of
// it for a tile whose partial sums take two slots (the sm90 family's 128-token tile).
int max_blocks_per_sm(const KernelKey& key);

// The blocks per multiprocessor to launch: at most `occupancy` (what fits, from the CUDA occupancy query), at most
// max_blocks_per_sm, and the tuning override `forced` where it is > 0, else the launcher's choice: one for 8-bit
// weights with one M block, else as many as fit (see the definition for the measurements).
int blocks_per_sm(const KernelKey& key, int occupancy, int forced);

// Splits the plan's tiles over at most `blocks` blocks (tile_scheduler.h): whole tiles, the same number per
// block, while there are at least `blocks` of them; the rest in equal stream-K shares of their K steps, of at
// least kMinShare steps (kMinMultiBlockShare with two or more M blocks), rounded up to split every tile into equal
// pieces where that costs at most 1 / kEqualPiecesDiv more steps; unless they nearly fill a wave: then whole as
// well. Fills plan->split's dp_tiles, sk_share and grid.
void split_work(int blocks, LaunchPlan* plan);

// Lower-case spelling of a type id, as in the generated file names ("float16", "u4b8", ...).
const char* type_name(ScalarTypeId t);

// The plan as marlin_gemm_plan reports it (csrc/include/marlin/marlin.h): key=value fields, space-separated.
std::string plan_text(const LaunchPlan& plan, int blocks_per_sm);

}  // namespace marlin
