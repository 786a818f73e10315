// Public C API of marlin-bazel: mixed-precision GEMM with quantized weights, and the weight repacking it needs.
// Every call validates its arguments and returns a status; on error a message naming the bad argument is written
// into `err` (when err_len > 0). No call aborts the process.
#ifndef MARLIN_MARLIN_H_
#define MARLIN_MARLIN_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  MARLIN_OK = 0,
  MARLIN_ERR_INVALID_ARGUMENT = 1,  // a shape, pointer, alignment or type that the API never accepts
  MARLIN_ERR_NOT_BUILT = 2,         // valid, but this library holds no kernel for it (quant config or arch)
  MARLIN_ERR_CUDA = 3,              // the CUDA runtime reported an error
} marlin_status;

// Scalar types, numbered as marlin::ScalarTypeId.
typedef enum {
  MARLIN_TYPE_FLOAT16 = 0,
  MARLIN_TYPE_BFLOAT16 = 1,
  MARLIN_TYPE_S8 = 2,
  MARLIN_TYPE_FE4M3FN = 3,
  MARLIN_TYPE_U4 = 4,        // AWQ-INT4: (q - zero) * scale
  MARLIN_TYPE_U4B8 = 5,      // GPTQ-INT4: (q - 8) * scale
  MARLIN_TYPE_U8B128 = 6,    // GPTQ-INT8: (q - 128) * scale
  MARLIN_TYPE_FE2M1F = 7,
  MARLIN_TYPE_FE8M0FNU = 8,
} marlin_scalar_type;

typedef struct {
  const void* a;          // [m, k] activations, row stride lda elements, a_type (FP8, INT8: 1 byte each,
                          // lda % 16 == 0)
  const void* b_q;        // Marlin-layout int32 weights (marlin_repack_*): [k/16, 2n] for the 4-bit types (U4, U4B8,
                          // FE2M1F), [k/16, 4n] for the 8-bit ones (U8B128, FE4M3FN)
  const void* scales;     // [groups, n] s_type, permuted (marlin_permute_scales); groups = 1 for channelwise,
                          // k / group_size for groups, the number of groups of g_idx with act-order
  const void* zeros;      // [k/group_size, n] s_type, permuted (marlin_awq_zeros); U4 only, else NULL
  void* c;                // [m, n] output, row stride ldc elements, c_type
  void* workspace;        // marlin_workspace_bytes(sm_count) bytes, zeroed once; kernels leave its counters at zero
  size_t workspace_bytes;
  int64_t m, n, k;
  int64_t lda, ldc;       // row strides in elements; 0 means k (lda) and n (ldc)
  int64_t group_size;     // -1 channelwise, or 16 (NVFP4), 32, 64, 128 rows per scale
  marlin_scalar_type a_type, b_type, c_type, s_type;
  int sm_count;           // multiprocessors to spread over; 0 = all of the current device
  void* stream;           // cudaStream_t; NULL = default stream
  const void* bias;       // [n] c_type added to every row of C, or NULL
  const float* global_scale;  // FE2M1F with FE4M3FN scales (NVFP4): one fp32 on the device that multiplies C;
                              // NULL means 1. Must be NULL for every other format.
  // Act-order (GPTQ desc_act, U4B8 and U8B128 only). perm == NULL means none.
  const int32_t* perm;          // [k] row order of the repacked weights: repacked row i is checkpoint row perm[i]
  const int32_t* g_idx_sorted;  // [k] group of repacked row i (g_idx[perm[i]]); required unless is_k_full
  void* a_perm;                 // [m, k] a_type scratch that receives A's columns in perm order
  int is_k_full;                // nonzero: the repacked rows form groups of exactly group_size consecutive rows
                                // (a whole GPTQ layer); zero: a K shard, scales are looked up per row by
                                // g_idx_sorted
  // Tuning overrides (bench/tune.py); 0 means the launcher's choice. force_thread_k and force_thread_n pick the
  // thread config: (128, 128), (64, 256), (64, 128) or (128, 64), which must tile k and n, fit in shared memory
  // and be built for the batch size. force_blocks_per_sm caps the blocks per multiprocessor: 1 or 2.
  int force_thread_k, force_thread_n;
  int force_blocks_per_sm;
  // 8-bit activations (a_type MARLIN_TYPE_FE4M3FN or MARLIN_TYPE_S8; c_type, and s_type unless MXFP4,
  // MARLIN_TYPE_FLOAT16 or MARLIN_TYPE_BFLOAT16): [m] fp32 per-row scales of A that multiply C's rows, or NULL
  // (= 1). Must be NULL for 16-bit activations. INT8 activations take U4 and U4B8 weights, FP8 ones also MXFP4;
  // the weights of either are repacked in the 8-bit-activation row order (docs/FORMATS.md).
  const float* a_scales;
} marlin_gemm_args;

// C = A @ dequant(B). Asynchronous on args->stream.
marlin_status marlin_gemm(const marlin_gemm_args* args, char* err, size_t err_len);

// What marlin_gemm would launch for these arguments on the current device, launching nothing: one line of
// space-separated key=value fields into `plan` (cut to plan_len - 1 characters and terminated), in this order:
// family (sm75, sm80, sm89 or sm90), a, b, c, s (type names as in the kernel file names), threads,
// thread_m_blocks, thread_n_blocks, thread_k_blocks, m_block_size_8, stages, group_blocks, smem_bytes,
// blocks_per_sm, grid, m_chunks, n_tiles, k_iters, dp_tiles (tiles done whole), sk_share (K steps per block over
// the rest). For tuning, and to find out why a shape runs slow. Validates and fails as marlin_gemm does.
marlin_status marlin_gemm_plan(const marlin_gemm_args* args, char* plan, size_t plan_len, char* err, size_t err_len);

// Workspace bytes marlin_gemm needs when spread over sm_count multiprocessors (0 = current device).
size_t marlin_workspace_bytes(int sm_count);

// Weights packed along K, int32 [k*num_bits/32, n] -> Marlin layout [k/16, n*num_bits/2]. num_bits: 4 or 8.
// GPTQ-INT4/INT8 checkpoints come packed this way; FP8 (e4m3 bytes) and FP4 (e2m1 nibbles) weights are packed
// the same way first. perm: NULL, or [k] row order (repacked row i = source row perm[i]): act-order's, or the
// 8-bit-activation order (docs/FORMATS.md). A perm is checked to be a permutation of 0..k-1 on the device first,
// which waits for the stream (and is refused while the stream is captured into a graph).
marlin_status marlin_repack_gptq(const int32_t* in, const int32_t* perm, int32_t* out, int64_t k, int64_t n,
                                 int num_bits, void* stream, char* err, size_t err_len);
// AWQ int32 [k, n/8] (packed along N, AWQ nibble order) -> Marlin layout [k/16, 2n]. num_bits must be 4. perm as
// for marlin_repack_gptq (NULL, or the 8-bit-activation row order of docs/FORMATS.md).
marlin_status marlin_repack_awq(const int32_t* in, const int32_t* perm, int32_t* out, int64_t k, int64_t n,
                                int num_bits, void* stream, char* err, size_t err_len);
// Scales [groups, n] of elem_bytes each -> the kernel's column order. elem_bytes: 2 (f16, bf16) or 1 (e4m3 for
// NVFP4, e8m0 for MXFP4).
marlin_status marlin_permute_scales(const void* in, void* out, int64_t groups, int64_t n, int elem_bytes,
                                    void* stream, char* err, size_t err_len);
// AWQ zero points int32 [groups, n/8] -> [groups, n] values of s_type (f16 or bf16) in the kernel's order.
marlin_status marlin_awq_zeros(const int32_t* in, void* out, int64_t groups, int64_t n,
                               marlin_scalar_type s_type, void* stream, char* err, size_t err_len);

// Checks act-order metadata once, before marlin_gemm uses it (marlin_gemm reads by these indices and does not
// check them on every call): perm a permutation of 0..k-1, every g_idx_sorted[i] in [0, num_groups), and, with
// is_k_full, g_idx_sorted[i] == i / group_size (g_idx_sorted may then be NULL). Waits for the stream.
// MARLIN_ERR_INVALID_ARGUMENT with the first bad entry (index and value) in err.
marlin_status marlin_check_act_order(const int32_t* perm, const int32_t* g_idx_sorted, int64_t k, int64_t num_groups,
                                     int64_t group_size, int is_k_full, void* stream, char* err, size_t err_len);

// Number of kernel instantiations built into this library.
int marlin_built_kernel_count(void);

#ifdef __cplusplus
}  // extern "C"
#endif

#endif  // MARLIN_MARLIN_H_
