"""CPU unit tests of marlin_bazel.reference (no GPU, no C library): packing round trips and the Marlin layouts
(4-bit and 8-bit) against values worked out by hand from docs/DESIGN.md, the FP8/FP4/E8M0 decoders and dequant
for every weight format, the row order of the weights for 8-bit activations (reference and ops.a8_row_perm), the
float64 GEMM reference with INT8 and FP8 activations (reference.gemm_reference), marlin_bazel.ops.prepare_act_order
(pure torch), and ops.gemm's type checks of 8-bit activations (they come before the device checks, so CPU tensors
reach them).

Run: PYTHONPATH=python python -m pytest tests/gpu/test_reference_cpu.py -q   (or python -m unittest)
"""

from __future__ import annotations

import contextlib
import re
import sys
import unittest
from pathlib import Path

_PY = str(Path(__file__).resolve().parents[2] / "python")
if _PY not in sys.path:
    sys.path.insert(0, _PY)

try:
    import torch
except ImportError:  # pragma: no cover - torch is needed for everything here
    torch = None

if torch is not None:
    import marlin_bazel
    from marlin_bazel import _checks, ops
    from marlin_bazel import reference as ref

HAS_E4M3 = torch is not None and hasattr(torch, "float8_e4m3fn")
HAS_E8M0 = torch is not None and hasattr(torch, "float8_e8m0fnu")


def u32(word: int) -> int:
    """Unsigned 32-bit pattern -> the int32 value torch stores."""
    return word - (1 << 32) if word >= 1 << 31 else word


def nonzero_words(packed: torch.Tensor) -> dict[tuple[int, ...], int]:
    return {tuple(int(x) for x in idx): int(packed[tuple(idx)]) for idx in packed.nonzero()}


@unittest.skipIf(torch is None, "torch is not installed")
class PackGptqTest(unittest.TestCase):
    def test_round_trip(self) -> None:
        g = torch.Generator().manual_seed(0)
        q = torch.randint(0, 16, (64, 24), generator=g, dtype=torch.int32)
        packed = ref.pack_gptq(q)
        self.assertEqual(packed.dtype, torch.int32)
        self.assertEqual(tuple(packed.shape), (8, 24))
        self.assertTrue(torch.equal(ref.unpack_gptq(packed), q))

    def test_single_values(self) -> None:
        # q[13, 2] = 0xA: row 13 = 8*1 + 5 -> word (1, 2), nibble 5 -> 0xA << 20.
        q = torch.zeros(16, 4, dtype=torch.int32)
        q[13, 2] = 0xA
        self.assertEqual(nonzero_words(ref.pack_gptq(q)), {(1, 2): 0x00A00000})
        # q[7, 0] = 0xF: word (0, 0), nibble 7 -> 0xF0000000, negative as int32.
        q = torch.zeros(16, 4, dtype=torch.int32)
        q[7, 0] = 0xF
        self.assertEqual(nonzero_words(ref.pack_gptq(q)), {(0, 0): u32(0xF0000000)})

    def test_known_word(self) -> None:
        # Column 0 rows 0..7 = 1..8 -> nibbles 1..8 from the low end: 0x87654321.
        q = torch.zeros(8, 1, dtype=torch.int32)
        q[:, 0] = torch.arange(1, 9)
        self.assertEqual(int(ref.pack_gptq(q)[0, 0]), u32(0x87654321))

    def test_rejects_out_of_range(self) -> None:
        with self.assertRaisesRegex(ValueError, "q"):
            ref.pack_gptq(torch.full((8, 1), 16))

    def test_bits_defaults_to_4(self) -> None:
        q = torch.randint(0, 16, (16, 8), generator=torch.Generator().manual_seed(10), dtype=torch.int32)
        self.assertTrue(torch.equal(ref.pack_gptq(q), ref.pack_gptq(q, bits=4)))
        self.assertTrue(torch.equal(ref.unpack_gptq(ref.pack_gptq(q)), ref.unpack_gptq(ref.pack_gptq(q), bits=4)))


@unittest.skipIf(torch is None, "torch is not installed")
class PackGptq8Test(unittest.TestCase):
    """8-bit GPTQ packing (DESIGN.md): int32 [K/4, N], byte i of word (r, n) is row 4r + i."""

    def test_round_trip(self) -> None:
        g = torch.Generator().manual_seed(11)
        q = torch.randint(0, 256, (64, 24), generator=g, dtype=torch.int32)
        packed = ref.pack_gptq(q, bits=8)
        self.assertEqual(packed.dtype, torch.int32)
        self.assertEqual(tuple(packed.shape), (16, 24))
        self.assertTrue(torch.equal(ref.unpack_gptq(packed, bits=8), q))
        # Every value, including 0 and 255 and words with the top bit set.
        q = torch.arange(256, dtype=torch.int32).reshape(64, 4)
        self.assertTrue(torch.equal(ref.unpack_gptq(ref.pack_gptq(q, bits=8), bits=8), q))

    def test_single_values(self) -> None:
        # q[13, 2] = 0xA5: row 13 = 4*3 + 1 -> word (3, 2), byte 1 -> 0xA5 << 8.
        q = torch.zeros(16, 4, dtype=torch.int32)
        q[13, 2] = 0xA5
        self.assertEqual(nonzero_words(ref.pack_gptq(q, bits=8)), {(3, 2): 0x0000A500})
        # q[7, 0] = 0xFF: row 7 = 4*1 + 3 -> word (1, 0), byte 3 -> 0xFF000000, negative as int32.
        q = torch.zeros(16, 4, dtype=torch.int32)
        q[7, 0] = 0xFF
        self.assertEqual(nonzero_words(ref.pack_gptq(q, bits=8)), {(1, 0): u32(0xFF000000)})
        # q[10, 3] = 0x80: row 10 = 4*2 + 2 -> word (2, 3), byte 2.
        q = torch.zeros(16, 4, dtype=torch.int32)
        q[10, 3] = 0x80
        self.assertEqual(nonzero_words(ref.pack_gptq(q, bits=8)), {(2, 3): 0x00800000})

    def test_known_word(self) -> None:
        # Column 0 rows 0..3 = 0x11, 0x22, 0x33, 0x44 -> bytes from the low end: 0x44332211; rows 4..7 = 0x80,
        # 0x01, 0xFE, 0x7F -> 0x7FFE0180.
        q = torch.tensor([0x11, 0x22, 0x33, 0x44, 0x80, 0x01, 0xFE, 0x7F], dtype=torch.int32).reshape(8, 1)
        packed = ref.pack_gptq(q, bits=8)
        self.assertEqual([int(x) for x in packed[:, 0]], [0x44332211, 0x7FFE0180])

    def test_rejects(self) -> None:
        with self.assertRaisesRegex(ValueError, "^q:"):
            ref.pack_gptq(torch.full((8, 1), 256), bits=8)
        with self.assertRaisesRegex(ValueError, "^q:"):
            ref.pack_gptq(torch.full((8, 1), -1), bits=8)
        with self.assertRaisesRegex(ValueError, "^q:"):
            ref.pack_gptq(torch.zeros(6, 1, dtype=torch.int32), bits=8)  # K not a multiple of 4
        with self.assertRaisesRegex(ValueError, "^q:"):
            ref.pack_gptq(torch.full((8, 1), 16))  # 4-bit still limited to 0..15
        for bits in (2, 3, 5, 16, True):
            with self.assertRaisesRegex(ValueError, "^bits:"):
                ref.pack_gptq(torch.zeros(8, 1, dtype=torch.int32), bits=bits)
            with self.assertRaisesRegex(ValueError, "^bits:"):
                ref.unpack_gptq(torch.zeros(2, 1, dtype=torch.int32), bits=bits)


@unittest.skipIf(torch is None, "torch is not installed")
class PackAwqTest(unittest.TestCase):
    def test_round_trip(self) -> None:
        g = torch.Generator().manual_seed(1)
        q = torch.randint(0, 16, (12, 64), generator=g, dtype=torch.int32)
        packed = ref.pack_awq(q)
        self.assertEqual(tuple(packed.shape), (12, 8))
        self.assertTrue(torch.equal(ref.unpack_awq(packed), q))
        z = torch.randint(0, 16, (3, 128), generator=g, dtype=torch.int32)
        self.assertTrue(torch.equal(ref.unpack_awq_zeros(ref.pack_awq_zeros(z)), z))

    def test_single_values(self) -> None:
        # Order (0,2,4,6,1,3,5,7): column 8w+1 is nibble 4, 8w+6 is nibble 3, 8w+7 is nibble 7.
        q = torch.zeros(4, 16, dtype=torch.int32)
        q[3, 9] = 5  # w = 1, column offset 1 -> nibble 4
        self.assertEqual(nonzero_words(ref.pack_awq(q)), {(3, 1): 5 << 16})
        q = torch.zeros(4, 16, dtype=torch.int32)
        q[0, 6] = 0xC  # w = 0, offset 6 -> nibble 3
        self.assertEqual(nonzero_words(ref.pack_awq(q)), {(0, 0): 0xC << 12})
        q = torch.zeros(4, 16, dtype=torch.int32)
        q[2, 15] = 0x9  # w = 1, offset 7 -> nibble 7
        self.assertEqual(nonzero_words(ref.pack_awq(q)), {(2, 1): u32(0x90000000)})

    def test_known_word(self) -> None:
        # Columns 0..7 = 1..8: nibbles hold columns 0,2,4,6,1,3,5,7 = values 1,3,5,7,2,4,6,8 -> 0x86427531.
        q = torch.arange(1, 9, dtype=torch.int32).reshape(1, 8)
        self.assertEqual(int(ref.pack_awq(q)[0, 0]), u32(0x86427531))


def marlin_layout_loops(q: torch.Tensor) -> torch.Tensor:
    """DESIGN.md's Marlin layout, transcribed literally with loops (slow; small shapes only)."""
    k, n = q.shape
    flat = [0] * (k * n // 8)
    rows_of_j = (0, 1, 8, 9)
    nibble_of_j = (0, 4, 1, 5, 2, 6, 3, 7)
    for kb in range(k // 16):
        for nc in range(n // 64):
            tile_word = (kb * (n // 64) + nc) * 512 // 4
            for lane in range(32):
                g, t = lane // 4, lane % 4
                ks = 16 * kb + 2 * t
                for i in range(4):
                    n0 = 64 * nc + 16 * i + g
                    n1 = n0 + 8
                    vals = [int(q[ks + r, n0]) for r in rows_of_j] + [int(q[ks + r, n1]) for r in rows_of_j]
                    word = 0
                    for j, v in enumerate(vals):
                        word |= v << (4 * nibble_of_j[j])
                    flat[tile_word + 4 * lane + i] = u32(word)
    return torch.tensor(flat, dtype=torch.int32).reshape(k // 16, 2 * n)


@unittest.skipIf(torch is None, "torch is not installed")
class MarlinLayoutTest(unittest.TestCase):
    def place(self, k: int, n: int, row: int, col: int, value: int) -> dict[tuple[int, ...], int]:
        q = torch.zeros(k, n, dtype=torch.int32)
        q[row, col] = value
        out = ref.marlin_layout_reference(q)
        self.assertEqual(out.dtype, torch.int32)
        self.assertEqual(tuple(out.shape), (k // 16, 2 * n))
        return nonzero_words(out)

    # Each case: the position (kb, nc, lane l = 4g + t, word i, value j) worked out by hand, then
    # flat word = (kb * N/64 + nc) * 128 + 4l + i, row = flat // 2N, col = flat % 2N, nibble (0,4,1,5,2,6,3,7)[j].

    def test_origin(self) -> None:
        # B[0][0]: ks = 0 -> t = 0, n0 = 0 -> i = 0, g = 0, j = 0 -> word 0, nibble 0.
        self.assertEqual(self.place(16, 64, 0, 0, 7), {(0, 0): 7})

    def test_row_plus_one(self) -> None:
        # B[1][0] = B[ks+1][n0] with t = 0: j = 1 -> nibble 4 of word 0.
        self.assertEqual(self.place(16, 64, 1, 0, 3), {(0, 0): 3 << 16})

    def test_row_plus_nine_second_column_set(self) -> None:
        # B[9][8] = B[ks+9][n1] with t = 0, n0 = 0 (i = 0, g = 0): j = 7 -> nibble 7 of word 0.
        self.assertEqual(self.place(16, 64, 9, 8, 9), {(0, 0): u32(0x90000000)})

    def test_row_plus_eight(self) -> None:
        # B[8][0] = B[ks+8][n0], t = 0: j = 2 -> nibble 1 of word 0.
        self.assertEqual(self.place(16, 64, 8, 0, 0xB), {(0, 0): 0xB << 4})

    def test_inner_lane(self) -> None:
        # B[6][37]: 6 = 2*3 + 0 -> t = 3, j in {0, 4}; 37 = 16*2 + 5 -> i = 2, g = 5, n0 -> j = 0.
        # l = 4*5 + 3 = 23, word 4*23 + 2 = 94 -> (0, 94), nibble 0.
        self.assertEqual(self.place(16, 64, 6, 37, 0xE), {(0, 94): 0xE})

    def test_inner_lane_high_nibble(self) -> None:
        # B[12][61]: 12 = 2*2 + 8 -> t = 2; 61 = 16*3 + 5 + 8 -> i = 3, g = 5, n1 -> j = 6, nibble 3.
        # l = 4*5 + 2 = 22, word 4*22 + 3 = 91.
        self.assertEqual(self.place(16, 64, 12, 61, 0x6), {(0, 91): 0x6 << 12})

    def test_second_tile_row(self) -> None:
        # K=32, N=128: B[16][0] is tile (kb=1, nc=0) -> flat word (1*2 + 0)*128 = 256 -> (1, 0), nibble 0.
        self.assertEqual(self.place(32, 128, 16, 0, 4), {(1, 0): 4})

    def test_second_tile_both(self) -> None:
        # K=32, N=128: B[17][64] is tile (1, 1), row offset 1 -> t = 0, j = 1; col offset 0 -> l = 0, i = 0.
        # flat word (1*2 + 1)*128 = 384 -> (1, 128), nibble 4.
        self.assertEqual(self.place(32, 128, 17, 64, 2), {(1, 128): 2 << 16})

    def test_second_column_tile(self) -> None:
        # K=16, N=128: B[3][64+15]: 3 = 2*1 + 1 -> t = 1, j odd; 15 = 16*0 + 7 + 8 -> i = 0, g = 7, n1 -> j = 5,
        # nibble 6. Tile (0, 1) -> flat 128; l = 4*7 + 1 = 29, word 128 + 116 + 0 = 244 -> (0, 244).
        self.assertEqual(self.place(16, 128, 3, 79, 0xD), {(0, 244): 0xD << 24})

    def test_matches_loop_transcription(self) -> None:
        g = torch.Generator().manual_seed(2)
        for k, n in ((16, 64), (32, 128), (48, 192)):
            q = torch.randint(0, 16, (k, n), generator=g, dtype=torch.int32)
            with self.subTest(k=k, n=n):
                self.assertTrue(torch.equal(ref.marlin_layout_reference(q), marlin_layout_loops(q)))

    def test_round_trip(self) -> None:
        g = torch.Generator().manual_seed(3)
        q = torch.randint(0, 16, (128, 320), generator=g, dtype=torch.int32)
        b_q = ref.marlin_layout_reference(q)
        self.assertTrue(torch.equal(ref.unpack_marlin_layout(b_q), q))

    def test_pair_extraction(self) -> None:
        # DESIGN.md: masking 0x000f000f and shifting by 4, 8, 12 gives (v0,v1), (v2,v3), (v4,v5), (v6,v7).
        q = torch.zeros(16, 64, dtype=torch.int32)
        q[0, 0], q[1, 0], q[8, 0], q[9, 0] = 1, 2, 3, 4  # v0..v3 of lane 0 word 0
        q[0, 8], q[1, 8], q[8, 8], q[9, 8] = 5, 6, 7, 8  # v4..v7
        word = int(ref.marlin_layout_reference(q)[0, 0]) & 0xFFFFFFFF
        pairs = [((word >> s) & 0xF, (word >> (s + 16)) & 0xF) for s in (0, 4, 8, 12)]
        self.assertEqual(pairs, [(1, 2), (3, 4), (5, 6), (7, 8)])

    def test_rejects_bad_shapes(self) -> None:
        with self.assertRaises(ValueError):
            ref.marlin_layout_reference(torch.zeros(16, 32, dtype=torch.int32))
        with self.assertRaises(ValueError):
            ref.marlin_layout_reference(torch.zeros(8, 64, dtype=torch.int32))


def marlin_layout8_loops(q: torch.Tensor) -> torch.Tensor:
    """DESIGN.md's 8-bit Marlin layout, transcribed literally with loops (slow; small shapes only).

    Tile (kb, nc) is 1024 bytes at byte offset (kb * N/64 + nc) * 1024; lane l = 4g + t owns 32 bytes at 32 l; word
    j (0..7) holds B[ks][n], B[ks+1][n], B[ks+8][n], B[ks+9][n] in bytes 0..3, ks = 16kb + 2t, n = 64nc + 8j + g.
    """
    k, n = q.shape
    flat = [0] * (k * n // 4)
    rows_of_byte = (0, 1, 8, 9)
    for kb in range(k // 16):
        for nc in range(n // 64):
            tile_byte = (kb * (n // 64) + nc) * 1024
            for lane in range(32):
                g, t = lane // 4, lane % 4
                ks = 16 * kb + 2 * t
                for j in range(8):
                    col = 64 * nc + 8 * j + g
                    word = 0
                    for byte, r in enumerate(rows_of_byte):
                        word |= int(q[ks + r, col]) << (8 * byte)
                    flat[(tile_byte + 32 * lane + 4 * j) // 4] = u32(word)
    return torch.tensor(flat, dtype=torch.int32).reshape(k // 16, 4 * n)


@unittest.skipIf(torch is None, "torch is not installed")
class MarlinLayout8Test(unittest.TestCase):
    """The 8-bit (GPTQ-INT8, kU8B128) Marlin layout of DESIGN.md: int32 [K/16, 4N]."""

    def place(self, k: int, n: int, row: int, col: int, value: int) -> dict[tuple[int, ...], int]:
        q = torch.zeros(k, n, dtype=torch.int32)
        q[row, col] = value
        out = ref.marlin_layout_reference(q, bits=8)
        self.assertEqual(out.dtype, torch.int32)
        self.assertEqual(tuple(out.shape), (k // 16, 4 * n))
        return nonzero_words(out)

    # Each case: (kb, nc), lane l = 4g + t, word j and byte b worked out by hand from
    #   row = 16kb + 2t + (0, 1, 8, 9)[b],  col = 64nc + 8j + g,
    # then flat word = (kb * N/64 + nc) * 256 + 8l + j, position (flat // 4N, flat % 4N), value << 8b.

    def test_origin(self) -> None:
        # B[0][0]: t = 0, b = 0; j = 0, g = 0 -> l = 0, word 0, byte 0.
        self.assertEqual(self.place(16, 64, 0, 0, 7), {(0, 0): 7})

    def test_row_plus_one(self) -> None:
        # B[1][0] = B[ks+1][n] with t = 0 -> byte 1 of word 0.
        self.assertEqual(self.place(16, 64, 1, 0, 0x81), {(0, 0): 0x8100})

    def test_row_plus_eight(self) -> None:
        # B[8][0] = B[ks+8][n] with t = 0 -> byte 2 of word 0.
        self.assertEqual(self.place(16, 64, 8, 0, 0x12), {(0, 0): 0x12 << 16})

    def test_row_plus_nine_top_byte(self) -> None:
        # B[9][0] = B[ks+9][n] with t = 0 -> byte 3 of word 0; 0xFF there makes the word negative.
        self.assertEqual(self.place(16, 64, 9, 0, 0xFF), {(0, 0): u32(0xFF000000)})

    def test_next_column_is_next_lane(self) -> None:
        # B[0][1]: col 1 = 8*0 + 1 -> j = 0, g = 1 -> l = 4, word 8*4 + 0 = 32.
        self.assertEqual(self.place(16, 64, 0, 1, 5), {(0, 32): 5})

    def test_column_eight_is_next_word(self) -> None:
        # B[0][8]: col 8 = 8*1 + 0 -> j = 1, g = 0 -> l = 0, word 1.
        self.assertEqual(self.place(16, 64, 0, 8, 0x3C), {(0, 1): 0x3C})

    def test_inner_lane(self) -> None:
        # B[6][37]: 6 = 2*3 + 0 -> t = 3, byte 0; 37 = 8*4 + 5 -> j = 4, g = 5. l = 4*5 + 3 = 23,
        # word 8*23 + 4 = 188 -> (0, 188).
        self.assertEqual(self.place(16, 64, 6, 37, 0xE7), {(0, 188): 0xE7})

    def test_inner_lane_high_byte(self) -> None:
        # B[13][61]: 13 = 2*2 + 9 -> t = 2, byte 3; 61 = 8*7 + 5 -> j = 7, g = 5. l = 22, word 8*22 + 7 = 183.
        self.assertEqual(self.place(16, 64, 13, 61, 0x6A), {(0, 183): 0x6A << 24})

    def test_second_tile_row(self) -> None:
        # K=32, N=128 (4N = 512): B[16][0] is tile (1, 0) -> flat (1*2 + 0)*256 = 512 -> (1, 0), byte 0.
        self.assertEqual(self.place(32, 128, 16, 0, 4), {(1, 0): 4})

    def test_second_tile_both(self) -> None:
        # K=32, N=128: B[27][114] is tile (1, 1); row offset 11 = 2*1 + 9 -> t = 1, byte 3; col offset 50 = 8*6 + 2
        # -> j = 6, g = 2; l = 4*2 + 1 = 9. flat (1*2 + 1)*256 + 8*9 + 6 = 846 -> (1, 334).
        self.assertEqual(self.place(32, 128, 27, 114, 0x99), {(1, 334): u32(0x99000000)})

    def test_second_column_tile(self) -> None:
        # K=16, N=128: B[3][79]: 3 = 2*1 + 1 -> t = 1, byte 1; 79 = 64 + 8*1 + 7 -> nc = 1, j = 1, g = 7;
        # l = 4*7 + 1 = 29. flat 256 + 8*29 + 1 = 489 -> (0, 489).
        self.assertEqual(self.place(16, 128, 3, 79, 0xD0), {(0, 489): 0xD0 << 8})

    @unittest.skipIf(sys.byteorder != "little", "byte offsets assume a little-endian host (as the GPU is)")
    def test_byte_offsets(self) -> None:
        # DESIGN.md's byte view: value at byte (kb * N/64 + nc) * 1024 + 32 l + 4 j + b of the buffer.
        k, n = 48, 192
        for row, col, want in (
            (0, 0, 0),
            (9, 0, 3),
            (6, 37, 23 * 32 + 4 * 4 + 0),
            (13, 61, 22 * 32 + 7 * 4 + 3),
            (16 + 11, 128 + 50, (1 * 3 + 2) * 1024 + 9 * 32 + 6 * 4 + 3),  # tile (1, 2)
            (47, 191, (2 * 3 + 2) * 1024 + (4 * 7 + 3) * 32 + 7 * 4 + 3),  # last byte: t = 3, b = 3, j = g = 7
        ):
            with self.subTest(row=row, col=col):
                q = torch.zeros(k, n, dtype=torch.int32)
                q[row, col] = 0xA7
                raw = ref.marlin_layout_reference(q, bits=8).contiguous().view(torch.uint8).flatten()
                self.assertEqual(raw.nonzero().flatten().tolist(), [want])
                self.assertEqual(int(raw[want]), 0xA7)

    def test_matches_loop_transcription(self) -> None:
        g = torch.Generator().manual_seed(12)
        for k, n in ((16, 64), (32, 128), (48, 192)):
            q = torch.randint(0, 256, (k, n), generator=g, dtype=torch.int32)
            with self.subTest(k=k, n=n):
                self.assertTrue(torch.equal(ref.marlin_layout_reference(q, bits=8), marlin_layout8_loops(q)))

    def test_round_trip(self) -> None:
        g = torch.Generator().manual_seed(13)
        q = torch.randint(0, 256, (128, 320), generator=g, dtype=torch.int32)
        b_q = ref.marlin_layout_reference(q, bits=8)
        self.assertEqual(tuple(b_q.shape), (8, 1280))
        self.assertTrue(torch.equal(ref.unpack_marlin_layout(b_q, bits=8), q))

    def test_bits_4_unchanged(self) -> None:
        g = torch.Generator().manual_seed(14)
        q = torch.randint(0, 16, (32, 128), generator=g, dtype=torch.int32)
        self.assertTrue(torch.equal(ref.marlin_layout_reference(q, bits=4), ref.marlin_layout_reference(q)))
        self.assertTrue(torch.equal(ref.marlin_layout_reference(q), marlin_layout_loops(q)))
        # The same values in the 8-bit layout are a different arrangement of twice the words.
        self.assertEqual(tuple(ref.marlin_layout_reference(q, bits=8).shape), (2, 512))

    def test_rejects(self) -> None:
        with self.assertRaisesRegex(ValueError, "^q:"):
            ref.marlin_layout_reference(torch.zeros(16, 32, dtype=torch.int32), bits=8)
        with self.assertRaisesRegex(ValueError, "^q:"):
            ref.marlin_layout_reference(torch.zeros(8, 64, dtype=torch.int32), bits=8)
        with self.assertRaisesRegex(ValueError, "^q:"):
            ref.marlin_layout_reference(torch.full((16, 64), 256), bits=8)
        with self.assertRaisesRegex(ValueError, "^q:"):
            ref.marlin_layout_reference(torch.full((16, 64), 16))  # 0..15 for the default 4 bits
        with self.assertRaisesRegex(ValueError, "^bits:"):
            ref.marlin_layout_reference(torch.zeros(16, 64, dtype=torch.int32), bits=6)
        with self.assertRaisesRegex(ValueError, "^b_q:"):
            ref.unpack_marlin_layout(torch.zeros(1, 128, dtype=torch.int32), bits=8)  # 4N must be a multiple of 256


@unittest.skipIf(torch is None, "torch is not installed")
class ScalesTest(unittest.TestCase):
    def test_permutation_by_hand(self) -> None:
        # Stored index 8g + j holds column 8j + g inside each block of 64.
        s = torch.arange(128, dtype=torch.float32).reshape(1, 128)
        p = ref.permute_scales_reference(s)[0]
        expected = {0: 0, 1: 8, 2: 16, 7: 56, 8: 1, 9: 9, 15: 57, 63: 63, 64 + 10: 64 + 17, 64 + 62: 64 + 55}
        for stored, column in expected.items():
            self.assertEqual(int(p[stored]), column, f"stored index {stored}")

    def test_round_trip_and_dtype(self) -> None:
        s = torch.randn(3, 192).to(torch.bfloat16)
        p = ref.permute_scales_reference(s)
        self.assertEqual(p.dtype, torch.bfloat16)
        self.assertTrue(torch.equal(ref.unpermute_scales_reference(p), s))

    def test_awq_zeros(self) -> None:
        g = torch.Generator().manual_seed(4)
        z = torch.randint(0, 16, (2, 64), generator=g, dtype=torch.int32)
        got = ref.awq_zeros_reference(ref.pack_awq_zeros(z), 64, torch.float16)
        self.assertEqual(got.dtype, torch.float16)
        self.assertEqual(tuple(got.shape), (2, 64))
        # Stored index 8g + j holds column 8j + g.
        for stored in (0, 1, 9, 20, 63):
            gg, jj = divmod(stored, 8)
            self.assertEqual(float(got[1, stored]), float(z[1, 8 * jj + gg]))


@unittest.skipIf(torch is None, "torch is not installed")
class DequantTest(unittest.TestCase):
    def test_gptq_channelwise(self) -> None:
        q = torch.tensor([[8, 0], [15, 8]])
        s = torch.tensor([[0.5, 2.0]])
        w = ref.dequant(q, s, None, -1, "u4b8")
        self.assertEqual(w.dtype, torch.float32)
        self.assertEqual(w.tolist(), [[0.0, -16.0], [3.5, 0.0]])

    def test_awq_grouped(self) -> None:
        q = torch.tensor([[3, 1], [4, 15], [0, 7], [15, 2]])
        s = torch.tensor([[1.0, 0.5], [0.25, 2.0]], dtype=torch.float16)
        z = torch.tensor([[3, 1], [8, 0]])
        w = ref.dequant(q, s, z, 2, "u4")
        # rows 0-1 use group 0: (q - z) * s; rows 2-3 group 1.
        self.assertEqual(w.tolist(), [[0.0, 0.0], [1.0, 7.0], [-2.0, 14.0], [1.75, 4.0]])

    def test_gptq_grouped_matches_loop(self) -> None:
        g = torch.Generator().manual_seed(5)
        q = torch.randint(0, 16, (64, 8), generator=g)
        s = torch.randint(1, 64, (2, 8), generator=g) / 64  # dyadic: products are exact in fp32 and fp64
        w = ref.dequant(q, s, None, 32, "u4b8")
        for r in (0, 31, 32, 63):
            for c in (0, 7):
                self.assertEqual(float(w[r, c]), (int(q[r, c]) - 8) * float(s[r // 32, c]))

    def test_gptq8_channelwise(self) -> None:
        # (q - 128) * s, no zero points.
        q = torch.tensor([[128, 0], [255, 129], [127, 200]])
        s = torch.tensor([[0.5, 2.0]])
        w = ref.dequant(q, s, None, -1, "u8b128")
        self.assertEqual(w.dtype, torch.float32)
        self.assertEqual(w.tolist(), [[0.0, -256.0], [63.5, 2.0], [-0.5, 144.0]])

    def test_gptq8_grouped_matches_loop(self) -> None:
        g = torch.Generator().manual_seed(15)
        q = torch.randint(0, 256, (128, 8), generator=g)
        s = (torch.randint(1, 64, (4, 8), generator=g) / 64).to(torch.bfloat16)  # dyadic: exact products
        w = ref.dequant(q, s, None, 32, "u8b128")
        for r in (0, 31, 32, 95, 127):
            for c in (0, 5, 7):
                self.assertEqual(float(w[r, c]), (int(q[r, c]) - 128) * float(s[r // 32, c]))

    def test_gptq8_argument_errors(self) -> None:
        q = torch.zeros(64, 64, dtype=torch.int32)
        s = torch.ones(2, 64)
        with self.assertRaisesRegex(ValueError, "^zeros:"):
            ref.dequant(q, s, torch.zeros(2, 64, dtype=torch.int32), 32, "u8b128")
        with self.assertRaisesRegex(ValueError, "^q:"):
            ref.dequant(torch.full((64, 64), 256), s, None, 32, "u8b128")
        with self.assertRaisesRegex(ValueError, "^q:"):
            ref.dequant(torch.full((64, 64), 200), s, None, 32, "u4b8")  # 8-bit values for a 4-bit type
        with self.assertRaisesRegex(ValueError, "^scales:"):
            ref.dequant(q, torch.ones(1, 64), None, 32, "u8b128")

    def test_argument_errors(self) -> None:
        q = torch.zeros(64, 64, dtype=torch.int32)
        s = torch.ones(2, 64)
        with self.assertRaisesRegex(ValueError, "zeros"):
            ref.dequant(q, s, None, 32, "u4")
        with self.assertRaisesRegex(ValueError, "zeros"):
            ref.dequant(q, s, torch.zeros(2, 64, dtype=torch.int32), 32, "u4b8")
        with self.assertRaisesRegex(ValueError, "group_size"):
            ref.dequant(q, s, None, 48, "u4b8")
        with self.assertRaisesRegex(ValueError, "scales"):
            ref.dequant(q, torch.ones(1, 64), None, 32, "u4b8")
        with self.assertRaisesRegex(ValueError, "b_type"):
            ref.dequant(q, s, None, 32, "u8")


def _values(t: torch.Tensor) -> list[float]:
    return [float(x) for x in t.flatten()]


# e4m3fn code -> value, worked out by hand from the bit fields (sign | EEEE | MMM).
E4M3_HAND = (
    (0x00, 0.0),
    (0x01, 2.0**-9),  # 0 0000 001: smallest subnormal, 1/8 * 2^(1-7)
    (0x07, 7 * 2.0**-9),  # 0 0000 111: largest subnormal
    (0x08, 2.0**-6),  # 0 0001 000: smallest normal
    (0x30, 0.5),  # 0 0110 000: 2^(6-7)
    (0x38, 1.0),  # 0 0111 000
    (0x3C, 1.5),  # 0 0111 100
    (0x3F, 1.875),  # 0 0111 111
    (0x40, 2.0),  # 0 1000 000
    (0x4B, 5.5),  # 0 1001 011: 1.375 * 2^2
    (0x78, 256.0),  # 0 1111 000
    (0x7E, 448.0),  # 0 1111 110: the largest finite value (0 1111 111 is NaN)
    (0xB8, -1.0),  # 1 0111 000
    (0xFE, -448.0),  # 1 1111 110
    (0x81, -(2.0**-9)),  # 1 0000 001
)


@unittest.skipIf(torch is None, "torch is not installed")
class Fp8E4m3Test(unittest.TestCase):
    """e4m3fn: sign bit 7, exponent bits 6..3 (bias 7), mantissa bits 2..0; no infinities, 0x7F/0xFF NaN."""

    def test_hand_values(self) -> None:
        codes = torch.tensor([c for c, _ in E4M3_HAND], dtype=torch.int32)
        got = ref.fp8_e4m3fn_to_float(codes)
        self.assertEqual(got.dtype, torch.float32)
        self.assertEqual(_values(got), [v for _, v in E4M3_HAND])

    def test_nan_and_signed_zero(self) -> None:
        got = ref.fp8_e4m3fn_to_float(torch.tensor([0x7F, 0xFF, 0x80, 0x00]))
        self.assertTrue(bool(got[0].isnan()) and bool(got[1].isnan()))
        self.assertEqual(float(got[2]), 0.0)
        self.assertTrue(bool(torch.signbit(got[2])), "0x80 is -0.0")
        self.assertFalse(bool(torch.signbit(got[3])))

    def test_every_code_from_the_formula(self) -> None:
        # An independent transcription of the definition, code by code, in Python floats.
        got = ref.fp8_e4m3fn_to_float(torch.arange(256, dtype=torch.uint8))
        for code in range(256):
            sign = -1.0 if code & 0x80 else 1.0
            e, m = (code >> 3) & 0xF, code & 0x7
            if e == 15 and m == 7:
                self.assertTrue(bool(got[code].isnan()), hex(code))
                continue
            want = sign * (m / 8 * 2.0**-6 if e == 0 else (1 + m / 8) * 2.0 ** (e - 7))
            self.assertEqual(float(got[code]), want, hex(code))

    @unittest.skipUnless(HAS_E4M3, "torch has no float8_e4m3fn")
    def test_matches_torch_float8(self) -> None:
        codes = torch.arange(256, dtype=torch.uint8)
        fp8 = codes.view(torch.float8_e4m3fn)
        want = fp8.float()
        for got in (ref.fp8_e4m3fn_to_float(codes), ref.fp8_e4m3fn_to_float(fp8)):
            finite = ~want.isnan()
            self.assertTrue(torch.equal(got[finite], want[finite]))
            self.assertTrue(torch.equal(got.isnan(), want.isnan()))

    def test_rejects(self) -> None:
        with self.assertRaisesRegex(ValueError, "^codes:"):
            ref.fp8_e4m3fn_to_float(torch.tensor([256]))
        with self.assertRaisesRegex(ValueError, "^codes:"):
            ref.fp8_e4m3fn_to_float(torch.tensor([-1]))
        with self.assertRaisesRegex(ValueError, "^codes:"):
            ref.fp8_e4m3fn_to_float(torch.tensor([1.0]))


@unittest.skipIf(torch is None, "torch is not installed")
class Fp4E2m1Test(unittest.TestCase):
    """e2m1: sign bit 3, exponent bits 2..1 (bias 1), mantissa bit 0."""

    def test_hand_values(self) -> None:
        got = ref.fp4_e2m1_to_float(torch.tensor([0b0001, 0b0111, 0b1010, 0b0010, 0b0011, 0b0101, 0b1111, 0b1001]))
        self.assertEqual(got.dtype, torch.float32)
        self.assertEqual(_values(got), [0.5, 6.0, -1.0, 1.0, 1.5, 3.0, -6.0, -0.5])

    def test_all_codes(self) -> None:
        magnitudes = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0]
        got = ref.fp4_e2m1_to_float(torch.arange(16, dtype=torch.uint8).reshape(4, 4))
        self.assertEqual(tuple(got.shape), (4, 4))
        self.assertEqual(_values(got), magnitudes + [-x for x in magnitudes])
        self.assertTrue(bool(torch.signbit(got.flatten()[8])), "0b1000 is -0.0")

    def test_rejects(self) -> None:
        with self.assertRaisesRegex(ValueError, "^codes:"):
            ref.fp4_e2m1_to_float(torch.tensor([16]))
        with self.assertRaisesRegex(ValueError, "^codes:"):
            ref.fp4_e2m1_to_float(torch.tensor([0.5]))


@unittest.skipIf(torch is None, "torch is not installed")
class E8m0Test(unittest.TestCase):
    def test_hand_values(self) -> None:
        got = ref.e8m0_to_float(torch.tensor([127, 0, 128, 126, 1, 254, 120], dtype=torch.uint8))
        self.assertEqual(got.dtype, torch.float32)
        self.assertEqual(_values(got), [1.0, 2.0**-127, 2.0, 0.5, 2.0**-126, 2.0**127, 2.0**-7])
        self.assertGreater(float(got[1]), 0.0, "2^-127 is a float32 subnormal, not zero")
        self.assertTrue(bool(ref.e8m0_to_float(torch.tensor([255]))[0].isnan()))

    def test_every_code(self) -> None:
        got = ref.e8m0_to_float(torch.arange(255))
        self.assertEqual(_values(got), [2.0 ** (e - 127) for e in range(255)])

    @unittest.skipUnless(HAS_E8M0, "torch has no float8_e8m0fnu")
    def test_matches_torch_float8(self) -> None:
        codes = torch.arange(256, dtype=torch.uint8)
        e8 = codes.view(torch.float8_e8m0fnu)
        want = e8.float()
        got = ref.e8m0_to_float(e8)
        self.assertTrue(torch.equal(got[:255], want[:255]))
        self.assertTrue(bool(got[255].isnan()) and bool(want[255].isnan()))

    def test_rejects(self) -> None:
        with self.assertRaisesRegex(ValueError, "^codes:"):
            ref.e8m0_to_float(torch.tensor([256]))
        with self.assertRaisesRegex(ValueError, "^codes:"):
            ref.e8m0_to_float(torch.tensor([1.0]))


@unittest.skipIf(torch is None, "torch is not installed")
class DequantFloatFormatsTest(unittest.TestCase):
    def test_fp8_channelwise(self) -> None:
        q = torch.tensor([[0x38, 0x7E], [0xB8, 0x01], [0x00, 0x40]])
        s = torch.tensor([[0.5, 2.0]], dtype=torch.float16)
        w = ref.dequant(q, s, None, -1, "fe4m3fn")
        self.assertEqual(w.dtype, torch.float32)
        self.assertEqual(w.tolist(), [[0.5, 896.0], [-0.5, 2.0**-8], [0.0, 4.0]])

    def test_fp8_grouped_matches_loop(self) -> None:
        g = torch.Generator().manual_seed(21)
        q = torch.randint(0, 0x7F, (256, 8), generator=g)  # positive, no NaN
        s = (torch.randint(1, 64, (2, 8), generator=g) / 64).to(torch.bfloat16)
        w = ref.dequant(q, s, None, 128, "fe4m3fn")
        for r in (0, 127, 128, 255):
            for c in (0, 7):
                want = float(ref.fp8_e4m3fn_to_float(q[r, c])) * float(s[r // 128, c])
                self.assertEqual(float(w[r, c]), want)

    def test_nvfp4(self) -> None:
        # Two groups of 16 rows; scales e4m3 0x38 = 1.0 and 0x30 = 0.5 / 0x40 = 2.0; global scale 0.25.
        q = torch.zeros(32, 2, dtype=torch.int32)
        q[0] = torch.tensor([0b0111, 0b1010])  # 6, -1
        q[31] = torch.tensor([0b0001, 0b0101])  # 0.5, 3
        s = torch.tensor([[0x38, 0x30], [0x40, 0x38]])
        w = ref.dequant(q, s, None, 16, "fe2m1f", scale_format="nvfp4")
        self.assertEqual(w[0].tolist(), [6.0, -0.5])
        self.assertEqual(w[31].tolist(), [1.0, 3.0])
        w = ref.dequant(q, s, None, 16, "fe2m1f", scale_format="nvfp4", global_scale=0.25)
        self.assertEqual(w[0].tolist(), [1.5, -0.125])
        w = ref.dequant(q, s, None, 16, "fe2m1f", scale_format="nvfp4", global_scale=torch.tensor([0.25]))
        self.assertEqual(w[31].tolist(), [0.25, 0.75])
        self.assertEqual(float(w[1:31].abs().sum()), 0.0)

    @unittest.skipUnless(HAS_E4M3, "torch has no float8_e4m3fn")
    def test_nvfp4_float8_scales(self) -> None:
        g = torch.Generator().manual_seed(22)
        q = torch.randint(0, 16, (64, 64), generator=g)
        codes = torch.randint(0, 0x50, (4, 64), generator=g, dtype=torch.uint8)
        by_codes = ref.dequant(q, codes, None, 16, "fe2m1f", scale_format="nvfp4")
        by_fp8 = ref.dequant(q, codes.view(torch.float8_e4m3fn), None, 16, "fe2m1f", scale_format="nvfp4")
        self.assertTrue(torch.equal(by_codes, by_fp8))
        # And against torch's own decoding of both operands (e2m1 via the table of magnitudes).
        fp4 = torch.tensor([0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.0, -0.5, -1, -1.5, -2, -3, -4, -6])[q]
        want = fp4 * codes.view(torch.float8_e4m3fn).float().repeat_interleave(16, dim=0)
        self.assertTrue(torch.equal(by_fp8, want))

    def test_mxfp4(self) -> None:
        q = torch.zeros(64, 2, dtype=torch.int32)
        q[0] = torch.tensor([0b0111, 0b1001])  # 6, -0.5
        q[63] = torch.tensor([0b0100, 0b0011])  # 2, 1.5
        s = torch.tensor([[127, 0], [130, 125]], dtype=torch.uint8)  # 1, 2^-127 | 8, 0.25
        w = ref.dequant(q, s, None, 32, "fe2m1f", scale_format="mxfp4")
        self.assertEqual(w[0].tolist(), [6.0, -(2.0**-128)])
        self.assertEqual(w[63].tolist(), [16.0, 0.375])
        if HAS_E8M0:
            w8 = ref.dequant(q, s.view(torch.float8_e8m0fnu), None, 32, "fe2m1f", scale_format="mxfp4")
            self.assertTrue(torch.equal(w, w8))

    def test_act_order_matches_loop(self) -> None:
        g = torch.Generator().manual_seed(23)
        k, n, gs = 128, 8, 32
        g_idx = torch.randperm(k, generator=g) // gs
        q = torch.randint(0, 16, (k, n), generator=g)
        s = torch.randint(1, 64, (k // gs, n), generator=g) / 64
        w = ref.dequant(q, s, None, gs, "u4b8", g_idx=g_idx)
        for r in range(0, k, 7):
            for c in (0, 3, 7):
                self.assertEqual(float(w[r, c]), (int(q[r, c]) - 8) * float(s[int(g_idx[r]), c]))
        # 8-bit, and a K shard: any g_idx values below the scales' row count, uneven groups.
        g_idx = torch.randint(0, 5, (k,), generator=g)
        q8 = torch.randint(0, 256, (k, n), generator=g)
        s8 = torch.randint(1, 64, (5, n), generator=g) / 64
        w8 = ref.dequant(q8, s8, None, gs, "u8b128", g_idx=g_idx)
        self.assertTrue(torch.equal(w8, (q8.float() - 128) * s8[g_idx]))
        # A K shard whose K is no multiple of the group size.
        g_idx = torch.randint(0, 3, (96,), generator=g)
        w = ref.dequant(q[:96], s[:3], None, 64, "u4b8", g_idx=g_idx)
        self.assertTrue(torch.equal(w, (q[:96].float() - 8) * s[g_idx]))
        # Without reordering, g_idx = r // group_size is plain grouped dequant.
        plain = torch.arange(k) // gs
        self.assertTrue(
            torch.equal(ref.dequant(q, s, None, gs, "u4b8", g_idx=plain), ref.dequant(q, s, None, gs, "u4b8"))
        )

    def test_argument_errors(self) -> None:
        q4 = torch.zeros(64, 64, dtype=torch.int32)
        s_nv = torch.full((4, 64), 0x38)
        with self.assertRaisesRegex(ValueError, "^scale_format:"):
            ref.dequant(q4, s_nv, None, 16, "fe2m1f")
        with self.assertRaisesRegex(ValueError, "^scale_format:"):
            ref.dequant(q4, s_nv, None, 16, "fe2m1f", scale_format="nvfp8")
        with self.assertRaisesRegex(ValueError, "^scale_format:"):
            ref.dequant(q4, torch.ones(1, 64), None, -1, "u4b8", scale_format="nvfp4")
        with self.assertRaisesRegex(ValueError, "^global_scale:"):
            ref.dequant(q4, torch.full((2, 64), 127), None, 32, "fe2m1f", scale_format="mxfp4", global_scale=2.0)
        with self.assertRaisesRegex(ValueError, "^global_scale:"):
            ref.dequant(q4, torch.ones(1, 64), None, -1, "fe4m3fn", global_scale=2.0)
        with self.assertRaisesRegex(ValueError, "^global_scale:"):
            ref.dequant(q4, s_nv, None, 16, "fe2m1f", scale_format="nvfp4", global_scale=torch.ones(2))
        with self.assertRaisesRegex(ValueError, "^scales:"):
            ref.dequant(q4, torch.full((4, 64), 256), None, 16, "fe2m1f", scale_format="nvfp4")
        with self.assertRaisesRegex(ValueError, "^scales:"):
            ref.dequant(q4, s_nv[:2], None, 16, "fe2m1f", scale_format="nvfp4")
        with self.assertRaisesRegex(ValueError, "^zeros:"):
            ref.dequant(q4, torch.ones(1, 64), torch.zeros(1, 64, dtype=torch.int32), -1, "fe4m3fn")
        with self.assertRaisesRegex(ValueError, "^q:"):
            ref.dequant(torch.full((64, 64), 16), s_nv, None, 16, "fe2m1f", scale_format="nvfp4")
        s = torch.ones(2, 64)
        with self.assertRaisesRegex(ValueError, "^g_idx:"):
            ref.dequant(q4, s, None, 32, "u4b8", g_idx=torch.zeros(63, dtype=torch.int32))
        with self.assertRaisesRegex(ValueError, "^g_idx:"):
            ref.dequant(q4, s, None, 32, "u4b8", g_idx=torch.full((64,), 2))  # scales have 2 rows
        with self.assertRaisesRegex(ValueError, "^g_idx:"):
            ref.dequant(q4, s, None, 32, "u4b8", g_idx=torch.zeros(64))  # float
        with self.assertRaisesRegex(ValueError, "^group_size:"):
            ref.dequant(q4, s, None, -1, "u4b8", g_idx=torch.zeros(64, dtype=torch.int32))


@unittest.skipIf(torch is None, "torch is not installed")
class MarlinLayoutPermTest(unittest.TestCase):
    """repack with an act-order perm == the layout of q[perm]."""

    def test_perm(self) -> None:
        g = torch.Generator().manual_seed(31)
        for bits, k, n in ((4, 64, 128), (8, 32, 64)):
            with self.subTest(bits=bits):
                q = torch.randint(0, 1 << bits, (k, n), generator=g, dtype=torch.int32)
                perm = torch.randperm(k, generator=g).to(torch.int32)
                got = ref.marlin_layout_reference(q, bits, perm=perm)
                self.assertTrue(torch.equal(got, ref.marlin_layout_reference(q[perm.long()], bits)))
                self.assertTrue(torch.equal(ref.unpack_marlin_layout(got, bits), q[perm.long()]))
                self.assertFalse(torch.equal(got, ref.marlin_layout_reference(q, bits)))

    def test_identity_and_single_value(self) -> None:
        q = torch.zeros(64, 64, dtype=torch.int32)
        q[12, 61] = 6
        self.assertTrue(
            torch.equal(ref.marlin_layout_reference(q, perm=torch.arange(64)), ref.marlin_layout_reference(q))
        )
        # Row 12 moved to row 0 (swap 0 and 12): B[0][61] -> tile 0, lane 4*5 + 0 = 20, word i = 3 (61 = 48 + 8 + 5):
        # flat word 4*20 + 3 = 83, value v4 (n1 = n0 + 8, row ks) in nibble MARLIN_NIBBLE[4] = 2.
        perm = torch.arange(64)
        perm[0], perm[12] = 12, 0
        got = ref.marlin_layout_reference(q, perm=perm).flatten()
        self.assertEqual(got.nonzero().flatten().tolist(), [83])
        self.assertEqual(int(got[83]), 6 << 8)

    def test_rejects(self) -> None:
        q = torch.zeros(32, 64, dtype=torch.int32)
        for perm in (torch.arange(31), torch.zeros(32, dtype=torch.int64), torch.arange(32.0), torch.arange(1, 33)):
            with self.assertRaisesRegex(ValueError, "^perm:"):
                ref.marlin_layout_reference(q, perm=perm)


@unittest.skipIf(torch is None, "torch is not installed")
class A8RowPermTest(unittest.TestCase):
    """The row order of 4-bit weights for the kernels with 8-bit activations: repacked row 16b + y of each 16-row
    block is source row 16b + P(y), P = 0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15."""

    def test_values_k32(self) -> None:
        block = [0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15]
        want = block + [16 + p for p in block]
        got = ref.a8_row_perm_reference(32)
        self.assertEqual((got.dtype, tuple(got.shape)), (torch.int32, (32,)))
        self.assertEqual(got.tolist(), want)

    def test_formula(self) -> None:
        # P(y) = 4*(y//2) + y%2 for y < 8, 4*((y-8)//2) + 2 + y%2 for y >= 8, transcribed with plain ints.
        def p(y: int) -> int:
            return 4 * (y // 2) + y % 2 if y < 8 else 4 * ((y - 8) // 2) + 2 + y % 2

        k = 256
        self.assertEqual(ref.a8_row_perm_reference(k).tolist(), [16 * (r // 16) + p(r % 16) for r in range(k)])

    def test_permutation_within_each_block(self) -> None:
        for k in (16, 64, 4096):
            with self.subTest(k=k):
                perm = ref.a8_row_perm_reference(k).long().reshape(k // 16, 16)
                blocks = torch.arange(0, k, 16).unsqueeze(1)
                self.assertTrue(torch.equal(torch.sort(perm, dim=1).values, blocks + torch.arange(16)))
                self.assertTrue(torch.equal(perm // 16, blocks // 16 + torch.zeros(16, dtype=torch.int64)))

    def test_ops_matches_reference(self) -> None:
        for k in (16, 32, 1024, 28672):
            with self.subTest(k=k):
                got = ops.a8_row_perm(k, "cpu")
                self.assertEqual((got.dtype, got.device.type, tuple(got.shape)), (torch.int32, "cpu", (k,)))
                self.assertTrue(torch.equal(got, ref.a8_row_perm_reference(k)))

    def test_layout_with_perm(self) -> None:
        # marlin_layout_reference(q, perm=perm) is the layout of q[perm] (what repack_gptq/repack_awq(..., perm=)
        # must produce); unpacking it gives q[perm] back.
        g = torch.Generator().manual_seed(51)
        k, n = 64, 128
        q = torch.randint(0, 16, (k, n), generator=g, dtype=torch.int32)
        perm = ref.a8_row_perm_reference(k)
        got = ref.marlin_layout_reference(q, perm=perm)
        self.assertTrue(torch.equal(got, ref.marlin_layout_reference(q[perm.long()])))
        self.assertTrue(torch.equal(ref.unpack_marlin_layout(got), q[perm.long()]))
        self.assertFalse(torch.equal(got, ref.marlin_layout_reference(q)))

    def test_lane_holds_four_consecutive_rows(self) -> None:
        # q[r, c] = r % 16: after the permutation, lane l = 4g + t of every tile holds, in v0..v3 (rows ks, ks+1,
        # ks+8, ks+9 of n0) and in v4..v7 (the same rows of n1), the source rows 4t, 4t+1, 4t+2, 4t+3.
        k, n = 32, 128
        q = (torch.arange(k) % 16).unsqueeze(1).expand(k, n).to(torch.int32)
        words = ref.marlin_layout_reference(q, perm=ref.a8_row_perm_reference(k)).reshape(-1, 32, 4)  # tile, l, i
        nib = (words.unsqueeze(-1).long() >> (4 * torch.arange(8))) & 0xF  # [tile, l, i, nibble]
        v = nib[..., list(ref.MARLIN_NIBBLE)]  # [tile, l, i, j]: v_j
        t = torch.arange(32) % 4
        want = (4 * t).unsqueeze(1) + torch.arange(4)  # [l, 4]
        self.assertTrue(torch.equal(v[..., :4], want[None, :, None, :].expand_as(v[..., :4])))
        self.assertTrue(torch.equal(v[..., 4:], v[..., :4]))

    def test_rejects(self) -> None:
        for k in (0, -16, 8, 24, 16.0, True):
            with self.subTest(k=k):
                with self.assertRaisesRegex(ValueError, "^k:"):
                    ref.a8_row_perm_reference(k)
                with self.assertRaisesRegex(ValueError, "^k:"):
                    ops.a8_row_perm(k, "cpu")


@unittest.skipIf(torch is None, "torch is not installed")
class GemmReferenceTest(unittest.TestCase):
    """reference.activations_reference and gemm_reference: C[r, n] = a_scales[r] * sum_k A[r, k] * W[k, n] + bias[n]
    in float64, with A int8 (INT8 activations), e4m3 (FP8) or 16-bit values."""

    def test_int8_activations(self) -> None:
        a = torch.tensor([[-128, -127, -1, 0], [1, 2, 100, 127]], dtype=torch.int8)
        got = ref.activations_reference(a)
        self.assertEqual(got.dtype, torch.float64)
        self.assertEqual(got.tolist(), [[-128.0, -127.0, -1.0, 0.0], [1.0, 2.0, 100.0, 127.0]])
        a_scales = torch.tensor([0.1, 3.0e-5], dtype=torch.float32)  # 0.1 is not exact: its fp32 value is used
        got = ref.activations_reference(a, a_scales)
        s0, s1 = (float(x) for x in a_scales)  # the fp32 values, exactly, as Python floats
        self.assertEqual(got.tolist(), [[-128 * s0, -127 * s0, -s0, 0.0], [s1, 2 * s1, 100 * s1, 127 * s1]])
        self.assertNotEqual(s0, 0.1)

    @unittest.skipUnless(HAS_E4M3, "torch has no float8_e4m3fn")
    def test_fp8_activations(self) -> None:
        codes = torch.tensor([[0x00, 0x01, 0x38, 0x7E], [0x80, 0xB8, 0xFE, 0x08]], dtype=torch.uint8)
        a = codes.view(torch.float8_e4m3fn)
        self.assertEqual(
            ref.activations_reference(a).tolist(), [[0.0, 2.0**-9, 1.0, 448.0], [0.0, -1.0, -448.0, 2.0**-6]]
        )
        a_scales = torch.tensor([0.5, 3.0])
        want = ref.fp8_e4m3fn_to_float(codes).double() * a_scales.double()[:, None]
        self.assertTrue(torch.equal(ref.activations_reference(a, a_scales), want))

    def test_16bit_activations(self) -> None:
        for dtype in (torch.float16, torch.bfloat16):
            with self.subTest(dtype=dtype):
                a = torch.tensor([[0.5, -3.25], [1e-3, 2.0]]).to(dtype)
                self.assertTrue(torch.equal(ref.activations_reference(a), a.double()))

    def _int8_case(self, b_type: str, group_size: int, seed: int) -> None:
        # C[r, n] = a_scales[r] * sum_k A[r, k] * (q[k, n] - z[g(k), n]) * s[g(k), n] + bias[n], z = 8 for u4b8,
        # written out with Python floats.
        g = torch.Generator().manual_seed(seed)
        m, k, n = 3, 64, 8
        groups = 1 if group_size == -1 else k // group_size
        a = torch.randint(-127, 128, (m, k), generator=g).to(torch.int8)
        q = torch.randint(0, 16, (k, n), generator=g, dtype=torch.int32)
        s = (0.01 + 0.09 * torch.rand(groups, n, generator=g)).half()
        z = torch.randint(0, 16, (groups, n), generator=g, dtype=torch.int32) if b_type == "u4" else None
        a_scales = torch.rand(m, generator=g) + 0.5
        bias = torch.randn(n, generator=g).half()
        w = ref.dequant(q, s, z, group_size, b_type)
        got = ref.gemm_reference(a, w, a_scales=a_scales, bias=bias)
        self.assertEqual((got.dtype, tuple(got.shape)), (torch.float64, (m, n)))
        rows = k if group_size == -1 else group_size
        for r in range(m):
            for c in range(n):
                acc = 0.0
                for i in range(k):
                    zero = 8 if z is None else int(z[i // rows, c])
                    acc += int(a[r, i]) * (int(q[i, c]) - zero) * float(s[i // rows, c])
                want = float(a_scales[r]) * acc + float(bias[c])
                self.assertAlmostEqual(float(got[r, c]), want, delta=1e-12 * max(1.0, abs(want)))
        # Without a_scales and bias (None: scales 1, no bias): plain A @ W.
        self.assertTrue(torch.equal(ref.gemm_reference(a, w), a.double() @ w.double()))

    def test_int8_u4_grouped(self) -> None:
        self._int8_case("u4", 32, 61)

    def test_int8_u4b8_channelwise(self) -> None:
        self._int8_case("u4b8", -1, 62)

    def test_int8_u4b8_grouped(self) -> None:
        self._int8_case("u4b8", 16, 63)

    def test_rejects(self) -> None:
        a = torch.zeros(2, 64, dtype=torch.int8)
        w = torch.zeros(64, 8)
        cases = [
            (
                "a",
                r"^a: dtype must be one of .*torch\.int8.*, got torch\.uint8$",
                lambda: ref.activations_reference(a.view(torch.uint8)),
            ),
            ("a", r"^a: expected a 2-D tensor", lambda: ref.activations_reference(a[0])),
            (
                "a_scales with f16 a",
                r"^a_scales: only 8-bit activations .* a is torch\.float16$",
                lambda: ref.activations_reference(a.half(), torch.ones(2)),
            ),
            ("a_scales [3]", r"^a_scales: expected shape \(2,\)", lambda: ref.activations_reference(a, torch.ones(3))),
            (
                "a_scales int",
                r"^a_scales: expected a float tensor",
                lambda: ref.activations_reference(a, torch.ones(2, dtype=torch.int32)),
            ),
            ("w rows", r"^w: expected a tensor \[K, N\] with K = 64", lambda: ref.gemm_reference(a, w[:32])),
            (
                "bias shape",
                r"^bias: expected a tensor of shape \(8,\)",
                lambda: ref.gemm_reference(a, w, bias=torch.zeros(9)),
            ),
        ]
        for what, pattern, call in cases:
            with self.subTest(what):
                with self.assertRaisesRegex(ValueError, pattern):
                    call()


@unittest.skipIf(torch is None, "torch is not installed")
class Act8ArgumentsTest(unittest.TestCase):
    """ops.gemm's checks of 8-bit activations, with CPU tensors: gemm checks the types (dtypes, formats, group size,
    which arguments a format takes) before devices, so a call whose types are wrong fails with the same ValueError
    on the CPU as on a GPU, and a call whose types are right gets as far as "a: must be a CUDA tensor"."""

    K, N, G = 256, 256, 128

    def call(self, **kw: object) -> None:
        """ops.gemm on CPU tensors: INT8 a [4, K], u4b8, group size G, f16 output; kw adds or replaces."""
        args: dict[str, object] = {
            "a": torch.zeros(4, self.K, dtype=torch.int8),
            "b_q": torch.zeros(self.K // 16, 2 * self.N, dtype=torch.int32),
            "scales": torch.ones(self.K // self.G, self.N, dtype=torch.float16),
            "b_type": "u4b8",
            "group_size": self.G,
            "out_dtype": torch.float16,
            **kw,
        }
        ops.gemm(**args)

    def check(self, cases: list[tuple[str, str, dict[str, object]]]) -> None:
        for what, pattern, kw in cases:
            with self.subTest(what):
                with self.assertRaisesRegex(ValueError, pattern):
                    self.call(**kw)

    def test_formats(self) -> None:
        f16, bf16 = torch.float16, torch.bfloat16
        self.assertEqual(ops.INT8_ACT_FORMATS, {"u4": (f16, bf16), "u4b8": (f16, bf16)})
        self.assertEqual(ops.FP8_ACT_FORMATS, {"u4": (f16, bf16), "u4b8": (f16, bf16), "mxfp4": (bf16,)})
        self.assertIs(marlin_bazel.INT8_ACT_FORMATS, ops.INT8_ACT_FORMATS)
        self.assertIn("INT8_ACT_FORMATS", marlin_bazel.__all__)
        self.assertIn("INT8_ACT_FORMATS", ops.__all__)
        # Every format with 8-bit activations is a known format and takes its usual group sizes.
        for formats in (ops.INT8_ACT_FORMATS, ops.FP8_ACT_FORMATS):
            for fmt, dtypes in formats.items():
                self.assertIn(fmt, ops.FORMAT_GROUP_SIZES)
                self.assertTrue(set(dtypes) <= {f16, bf16})

    def test_int8_rejected(self) -> None:
        k, n, g = self.K, self.N, self.G
        f16, bf16 = torch.float16, torch.bfloat16
        b_q8 = torch.zeros(k // 16, 4 * n, dtype=torch.int32)
        s_mx = torch.full((k // 32, n), 127, dtype=torch.uint8)
        ao = ops.prepare_act_order(torch.arange(k, dtype=torch.int32) // g, g)
        allowed = r"; allowed: 'u4' \(AWQ-INT4\), 'u4b8' \(GPTQ-INT4\)$"
        no_kernels = r" has no kernels with INT8 activations \(a of dtype torch\.int8\)"
        cases: list[tuple[str, str, dict[str, object]]] = [
            # out_dtype: required, f16 or bf16
            (
                "no out_dtype",
                r"^out_dtype: INT8 activations \(a of dtype torch\.int8\) need out_dtype=torch\.float16 or "
                r"torch\.bfloat16: the output dtype cannot be inferred from a$",
                {"out_dtype": None},
            ),
            (
                "out_dtype float32",
                r"^out_dtype: must be torch\.float16 or torch\.bfloat16 .*got torch\.float32$",
                {"out_dtype": torch.float32},
            ),
            ("out_dtype int8", r"^out_dtype: must be .*got torch\.int8$", {"out_dtype": torch.int8}),
            ("out_dtype a string", r"^out_dtype: must be .*got 'float16'$", {"out_dtype": "float16"}),
            # weight formats: u4 and u4b8 only
            ("u8b128", rf"^b_type: 'u8b128'{no_kernels}{allowed}", {"b_type": "u8b128", "b_q": b_q8}),
            ("fe4m3fn weights", rf"^b_type: 'fe4m3fn'{no_kernels}{allowed}", {"b_type": "fe4m3fn", "b_q": b_q8}),
            (
                "MXFP4",
                rf"^b_type: 'fe2m1f'{no_kernels}{allowed}",
                {"b_type": "fe2m1f", "scales": s_mx, "group_size": 32, "out_dtype": bf16},
            ),
            ("unknown b_type", r"^b_type: 'u8' is not one of", {"b_type": "u8"}),
            # no act-order
            (
                "act_order",
                r"^act_order: there are no act-order kernels with INT8 activations \(a of dtype torch\.int8\); "
                r"pass None$",
                {"act_order": ao},
            ),
            # scales of out_dtype
            (
                "f16 scales, bf16 out",
                r"^scales: dtype must be torch\.bfloat16 \(out_dtype, with 8-bit activations\) for b_type 'u4b8', "
                r"got torch\.float16$",
                {"out_dtype": bf16},
            ),
            (
                "bf16 scales, f16 out (u4)",
                r"^scales: dtype must be torch\.float16 \(out_dtype, with 8-bit activations\) for b_type 'u4', got "
                r"torch\.bfloat16$",
                {"b_type": "u4", "scales": torch.ones(k // g, n, dtype=bf16)},
            ),
            (
                "float32 scales",
                r"^scales: dtype must be torch\.float16 .*got torch\.float32$",
                {"scales": torch.ones(2, n)},
            ),
            # group sizes: -1, 32, 64, 128
            (
                "group_size 16",
                r"^group_size: 16 is not allowed for b_type 'u4b8'; allowed: \[-1, 32, 64, 128\]$",
                {"group_size": 16, "scales": torch.ones(k // 16, n, dtype=f16)},
            ),
            ("group_size 256", r"^group_size: 256 is not one of \[-1, 16, 32, 64, 128\]$", {"group_size": 256}),
            (
                "group size does not divide k",
                r"^group_size: 128 does not divide k = 192$",
                {"a": torch.zeros(4, 192, dtype=torch.int8), "b_q": torch.zeros(12, 2 * n, dtype=torch.int32)},
            ),
            # a
            (
                "k = 96",
                r"^a: k \(columns of a\) = 96 must be a multiple of 64$",
                {"a": torch.zeros(4, 96, dtype=torch.int8)},
            ),
            ("m = 0", r"^a: m \(rows of a\) must be >= 1, got 0$", {"a": torch.zeros(0, k, dtype=torch.int8)}),
            ("a 1-D", r"^a: expected a 2-D tensor", {"a": torch.zeros(k, dtype=torch.int8)}),
            ("a non-contiguous", r"^a: must be contiguous", {"a": torch.zeros(k, 4, dtype=torch.int8).t()}),
            (
                "a uint8",
                r"^a: dtype must be torch\.float16 or torch\.bfloat16 or torch\.int8\b.*, got torch\.uint8$",
                {"a": torch.zeros(4, k, dtype=torch.uint8)},
            ),
            ("a int16", r"^a: dtype must be .*got torch\.int16$", {"a": torch.zeros(4, k, dtype=torch.int16)}),
        ]
        self.check(cases)

    def test_a_scales_only_with_8bit_activations(self) -> None:
        for dtype in (torch.float16, torch.bfloat16):
            with self.subTest(dtype=dtype):
                with self.assertRaisesRegex(
                    ValueError,
                    r"^a_scales: only 8-bit activations \(a of dtype torch\.int8\b.*\) take per-row scales; a is "
                    rf"{re.escape(str(dtype))} \(pass None\)$",
                ):
                    self.call(
                        a=torch.zeros(4, self.K, dtype=dtype),
                        scales=torch.ones(2, self.N, dtype=dtype),
                        out_dtype=None,
                        a_scales=torch.ones(4),
                    )

    def test_int8_accepted(self) -> None:
        # Every INT8-activation call of the contract passes the type checks: u4 (with zeros) and u4b8, f16 and bf16
        # output, group sizes -1, 32, 64, 128, with and without a_scales and bias. On the CPU the next check is
        # a's device.
        k, n = self.K, self.N
        for b_type in ("u4", "u4b8"):
            for dtype in (torch.float16, torch.bfloat16):
                for gs in (-1, 32, 64, 128):
                    for extra in (False, True):
                        groups = 1 if gs == -1 else k // gs
                        kw: dict[str, object] = {
                            "b_type": b_type,
                            "group_size": gs,
                            "out_dtype": dtype,
                            "scales": torch.ones(groups, n, dtype=dtype),
                        }
                        if b_type == "u4":
                            kw["zeros"] = torch.zeros(groups, n, dtype=dtype)
                        if extra:
                            kw.update(a_scales=torch.ones(4), bias=torch.zeros(n, dtype=dtype))
                        with self.subTest(b_type=b_type, dtype=dtype, group_size=gs, a_scales_and_bias=extra):
                            with self.assertRaisesRegex(ValueError, r"^a: must be a CUDA tensor, got one on cpu$"):
                                self.call(**kw)

    @unittest.skipUnless(HAS_E4M3, "torch has no float8_e4m3fn")
    def test_fp8_rejected(self) -> None:
        # The same checks, shared with FP8 activations (whose formats also take MXFP4, bf16 output only).
        k, n, g = self.K, self.N, self.G
        a = torch.zeros(4, k, dtype=torch.uint8).view(torch.float8_e4m3fn)
        s_mx = torch.full((k // 32, n), 127, dtype=torch.uint8)
        s_nv = torch.full((k // 16, n), 0x38, dtype=torch.uint8).view(torch.float8_e4m3fn)
        ao = ops.prepare_act_order(torch.arange(k, dtype=torch.int32) // g, g)
        allowed = (
            r"; allowed: 'u4' \(AWQ-INT4\), 'u4b8' \(GPTQ-INT4\), 'fe2m1f' with e8m0 scales \(MXFP4, "
            r"torch\.bfloat16 output only\)$"
        )
        cases: list[tuple[str, str, dict[str, object]]] = [
            (
                "no out_dtype",
                r"^out_dtype: FP8 activations \(a of dtype torch\.float8_e4m3fn\) need out_dtype=",
                {"out_dtype": None},
            ),
            (
                "u8b128",
                rf"^b_type: 'u8b128' has no kernels with FP8 activations \(a of dtype torch\.float8_e4m3fn\){allowed}",
                {"b_type": "u8b128", "b_q": torch.zeros(k // 16, 4 * n, dtype=torch.int32)},
            ),
            (
                "NVFP4",
                r"^scales: NVFP4 \(b_type 'fe2m1f', torch\.float8_e4m3fn scales\) has no kernels with FP8 "
                rf"activations .*{allowed}",
                {"b_type": "fe2m1f", "scales": s_nv, "group_size": 16},
            ),
            (
                "MXFP4, f16 out",
                r"^out_dtype: MXFP4 \(b_type 'fe2m1f', torch\.uint8 scales\) with FP8 activations has only "
                r"torch\.bfloat16 output, got torch\.float16$",
                {"b_type": "fe2m1f", "scales": s_mx, "group_size": 32},
            ),
            (
                "act_order",
                r"^act_order: there are no act-order kernels with FP8 activations \(a of dtype torch\.float8_e4m3fn\)",
                {"act_order": ao},
            ),
        ]
        self.check([(what, pattern, {"a": a, **kw}) for what, pattern, kw in cases])
        with self.assertRaisesRegex(ValueError, r"^a: must be a CUDA tensor"):  # MXFP4, bf16 output: accepted
            self.call(
                a=a, b_type="fe2m1f", scales=s_mx, group_size=32, out_dtype=torch.bfloat16, a_scales=torch.ones(4)
            )


@unittest.skipIf(torch is None, "torch is not installed")
class PrepareActOrderTest(unittest.TestCase):
    """ops.prepare_act_order is pure torch: perm = stable argsort of g_idx, is_k_full iff sorted groups are
    exactly arange(K) // group_size."""

    def test_whole_layer(self) -> None:
        g = torch.Generator().manual_seed(41)
        k, gs = 512, 128
        position = torch.randperm(k, generator=g)  # row r lands at sorted position position[r]
        g_idx = (position // gs).to(torch.int32)
        ao = ops.prepare_act_order(g_idx, gs)
        self.assertIsInstance(ao, ops.ActOrder)
        self.assertEqual((ao.perm.dtype, ao.g_idx_sorted.dtype), (torch.int32, torch.int32))
        self.assertEqual((tuple(ao.perm.shape), ao.k), ((k,), k))
        self.assertTrue(ao.is_k_full)
        self.assertEqual((ao.num_groups, ao.group_size), (k // gs, gs))
        self.assertTrue(torch.equal(ao.g_idx_sorted, (torch.arange(k) // gs).to(torch.int32)))
        self.assertTrue(torch.equal(g_idx[ao.perm.long()], ao.g_idx_sorted))
        self.assertTrue(torch.equal(torch.sort(ao.perm).values, torch.arange(k, dtype=torch.int32)))

    def test_stable(self) -> None:
        # Rows of one group keep their checkpoint order.
        g_idx = torch.tensor([1, 0, 1, 0, 0, 1], dtype=torch.int32).repeat_interleave(32)  # K = 192
        ao = ops.prepare_act_order(g_idx, 32)
        want = [r for grp in (0, 1) for r in range(192) if int(g_idx[r]) == grp]
        self.assertEqual(ao.perm.tolist(), want)
        self.assertFalse(ao.is_k_full, "groups of 96 rows are not groups of 32")
        self.assertEqual(ao.num_groups, 2)
        self.assertTrue(ops.prepare_act_order(g_idx, 32).is_k_full is False)

    def test_identity(self) -> None:
        g_idx = torch.arange(256, dtype=torch.int32) // 64
        ao = ops.prepare_act_order(g_idx, 64)
        self.assertTrue(ao.is_k_full)
        self.assertEqual(ao.perm.tolist(), list(range(256)))
        self.assertEqual(ao.num_groups, 4)

    def test_k_shard(self) -> None:
        # The rows of a random half of a 2K-row act-order layer: groups of uneven sizes.
        g = torch.Generator().manual_seed(42)
        k, gs = 256, 32
        full = torch.randperm(2 * k, generator=g) // gs
        rows = torch.sort(torch.randperm(2 * k, generator=g)[:k]).values
        g_idx = full[rows]  # int64 input is accepted
        ao = ops.prepare_act_order(g_idx, gs)
        self.assertFalse(ao.is_k_full)
        self.assertEqual(ao.num_groups, int(g_idx.max()) + 1)
        self.assertEqual(ao.perm.dtype, torch.int32)
        self.assertTrue(torch.equal(ao.g_idx_sorted.long(), torch.sort(g_idx).values))
        counts = torch.bincount(ao.g_idx_sorted.long())
        self.assertGreater(int(counts.max()), int(counts.min()), "uneven groups")

    def test_k_full_edge_cases(self) -> None:
        # Right group sizes but a group missing in the middle; or one row moved to the next group.
        base = torch.arange(256) // 64
        self.assertFalse(ops.prepare_act_order(torch.where(base >= 2, base + 1, base), 64).is_k_full)
        moved = base.clone()
        moved[63] = 1
        self.assertFalse(ops.prepare_act_order(moved, 64).is_k_full)
        # Every row in group 0 is full only if K == group_size.
        self.assertTrue(ops.prepare_act_order(torch.zeros(128, dtype=torch.int32), 128).is_k_full)
        self.assertFalse(ops.prepare_act_order(torch.zeros(256, dtype=torch.int32), 128).is_k_full)
        # A full layer whose group size differs from the one given is not full.
        self.assertFalse(ops.prepare_act_order(torch.arange(256) // 64, 128).is_k_full)
        # K not a multiple of the group size: the last group is short, so never full (a K shard), though the
        # sorted groups equal arange(K) // group_size.
        short = ops.prepare_act_order(torch.arange(320) // 128, 128)
        self.assertFalse(short.is_k_full)
        self.assertEqual(short.num_groups, 3)

    def test_to(self) -> None:
        ao = ops.prepare_act_order(torch.arange(64) // 32, 32)
        moved = ao.to("cpu")
        self.assertIsInstance(moved, ops.ActOrder)
        self.assertEqual((moved.is_k_full, moved.num_groups, moved.group_size), (True, 2, 32))
        with self.assertRaises(AttributeError):
            ao.is_k_full = False  # frozen

    def test_rejects(self) -> None:
        ok = torch.arange(128) // 32
        for gs in (-1, 16, 48, 256, True, 32.0):
            with self.assertRaisesRegex(ValueError, "^group_size:"):
                ops.prepare_act_order(ok, gs)
        for bad in (ok.float(), ok.reshape(2, 64), torch.tensor([], dtype=torch.int32), ok - 1, ok.bool()):
            with self.assertRaisesRegex(ValueError, "^g_idx:"):
                ops.prepare_act_order(bad, 32)
        with self.assertRaises(TypeError):
            ops.prepare_act_order([0, 1], 32)


class HandBuiltActOrderTest(unittest.TestCase):
    """An ActOrder made by hand is checked as it is made: the kernels index by perm and g_idx_sorted, so a bad
    value must be refused with an error that names it, not read out of bounds."""

    K, GS = 256, 64

    def good(self) -> dict[str, object]:
        g_idx = torch.randperm(self.K, generator=torch.Generator().manual_seed(7)) // self.GS
        ao = ops.prepare_act_order(g_idx, self.GS)
        return {
            "perm": ao.perm.clone(),
            "g_idx_sorted": ao.g_idx_sorted.clone(),
            "is_k_full": ao.is_k_full,
            "num_groups": ao.num_groups,
            "group_size": ao.group_size,
        }

    def test_good_is_accepted(self) -> None:
        ao = ops.ActOrder(**self.good())
        self.assertEqual((ao.k, ao.is_k_full, ao.num_groups), (self.K, True, self.K // self.GS))

    def test_perm_out_of_range(self) -> None:
        for value in (self.K, -1, 2**31 - 1):
            kw = self.good()
            kw["perm"][5] = value
            with self.assertRaisesRegex(
                ValueError, rf"^perm: perm\[5\] = {value} is out of range; perm must be a permutation"
            ):
                ops.ActOrder(**kw)

    def test_perm_repeats_a_row(self) -> None:
        kw = self.good()
        perm = kw["perm"]
        v = int(perm[9])
        perm[200] = v  # row v twice, the row that was at 200 never
        lo, hi = sorted((9, 200))
        with self.assertRaisesRegex(
            ValueError, rf"^perm: perm\[{lo}\] = perm\[{hi}\] = {v}; perm must be a permutation"
        ):
            ops.ActOrder(**kw)

    def test_group_out_of_range(self) -> None:
        for value in (self.K // self.GS, -3):
            kw = self.good()
            kw["is_k_full"] = False
            kw["g_idx_sorted"][17] = value
            with self.assertRaisesRegex(
                ValueError, rf"^g_idx_sorted: g_idx_sorted\[17\] = {value} is not a group in \[0, num_groups=4\)"
            ):
                ops.ActOrder(**kw)

    def test_num_groups_too_small(self) -> None:
        kw = self.good()
        kw["num_groups"] = 3  # group 3 exists in g_idx_sorted
        with self.assertRaisesRegex(
            ValueError, r"^g_idx_sorted: g_idx_sorted\[192\] = 3 is not a group in \[0, num_groups=3\)"
        ):
            ops.ActOrder(**kw)

    def test_is_k_full_must_hold(self) -> None:
        kw = self.good()
        kw["g_idx_sorted"][63] = 1  # still in range, but groups are no longer 64 consecutive rows
        with self.assertRaisesRegex(
            ValueError, r"^is_k_full: True, but g_idx_sorted\[63\] = 1, not 63 // group_size = 0"
        ):
            ops.ActOrder(**kw)
        kw["is_k_full"] = False  # a K shard may have uneven groups
        self.assertFalse(ops.ActOrder(**kw).is_k_full)

    def test_types_and_shapes(self) -> None:
        cases: list[tuple[str, object, type[Exception], str]] = [
            ("perm", self.good()["perm"].long(), ValueError, "^perm: dtype must be torch.int32"),  # type: ignore[union-attr]
            ("perm", [0, 1], TypeError, "^perm: expected a torch.Tensor"),
            (
                "g_idx_sorted",
                torch.zeros(self.K - 1, dtype=torch.int32),
                ValueError,
                r"^g_idx_sorted: expected shape \[256\]",
            ),
            ("is_k_full", 1, TypeError, "^is_k_full: expected a bool"),
            ("num_groups", 0, ValueError, "^num_groups: must be an int >= 1"),
            ("group_size", 48, ValueError, "^group_size: 48 is not a group size act-order takes"),
        ]
        for field, value, error, pattern in cases:
            kw = self.good()
            kw[field] = value
            with self.subTest(field=field), self.assertRaisesRegex(error, pattern):
                ops.ActOrder(**kw)

    def test_to_checks_again(self) -> None:
        ao = ops.ActOrder(**self.good())
        self.assertTrue(torch.equal(ao.to("cpu").perm, ao.perm))


class RowPermTest(unittest.TestCase):
    """The permutation check of repack's perm (_checks.permutation_error, run before any CUDA call) names the
    entry."""

    def test_messages(self) -> None:
        self.assertIsNone(_checks.permutation_error("perm", torch.randperm(64).to(torch.int32)))
        bad = torch.arange(64, dtype=torch.int32)
        bad[10] = 64
        self.assertEqual(
            _checks.permutation_error("perm", bad),
            "perm: perm[10] = 64 is out of range; perm must be a permutation of 0..63",
        )
        bad[10] = 3
        self.assertEqual(
            _checks.permutation_error("perm", bad),
            "perm: perm[3] = perm[10] = 3; perm must be a permutation of 0..63 (each row once)",
        )


@unittest.skipIf(torch is None, "torch is not installed")
class CustomOpFakeTest(unittest.TestCase):
    """The custom ops' fake implementations, which torch.compile traces with, run on fake CUDA tensors (no GPU
    needed): output shapes and dtypes, the eager calls' errors, and a traced layer as one op node."""

    OPS = ("gemm", "gemm_out", "repack_gptq", "repack_awq", "permute_scales", "awq_zeros")

    def setUp(self) -> None:
        from torch._subclasses.fake_tensor import FakeTensorMode

        self.mode = FakeTensorMode()
        self.mode.__enter__()
        self.addCleanup(self.mode.__exit__, None, None, None)
        self.k, self.n = 256, 128

    def cuda(self, *shape: int, dtype: torch.dtype) -> torch.Tensor:
        return torch.empty(*shape, device="cuda", dtype=dtype)

    def test_schemas(self) -> None:
        for name in self.OPS:
            with self.subTest(op=name):
                self.assertTrue(hasattr(torch.ops.marlin_bazel, name))
        gemm = str(torch.ops.marlin_bazel.gemm.default._schema)
        self.assertIn("Tensor? workspace=None,", gemm)  # scratch left as found: not declared mutated
        self.assertNotIn("!", gemm)
        self.assertRegex(
            str(torch.ops.marlin_bazel.gemm_out.default._schema), r"^marlin_bazel::gemm_out\(Tensor\(\w+!\) out"
        )

    def test_gemm_schema_is_check_gemm(self) -> None:
        # The ops' schema string and check_gemm's signature list the same arguments, in one order, with one default.
        import inspect

        from marlin_bazel import _gemm_args

        params = list(inspect.signature(_gemm_args.check_gemm).parameters.values())
        for op, skip in ((torch.ops.marlin_bazel.gemm_out.default, 0), (torch.ops.marlin_bazel.gemm.default, 1)):
            args = op._schema.arguments
            with self.subTest(op=str(op)):
                self.assertEqual([a.name for a in args], [p.name for p in params[skip:]])
                for a, p in zip(args, params[skip:]):
                    want = None if p.default is inspect.Parameter.empty else p.default
                    self.assertEqual(a.default_value if a.has_default_value() else None, want, a.name)

    def test_gemm_output(self) -> None:
        k, n = self.k, self.n
        s16 = self.cuda(k // 128, n, dtype=torch.float16)
        b4, b8 = self.cuda(k // 16, 2 * n, dtype=torch.int32), self.cuda(k // 16, 4 * n, dtype=torch.int32)
        cases = [  # label, a, b_q, gemm's keywords, the output dtype
            ("u4b8 f16", self.cuda(5, k, dtype=torch.float16), b4, {}, torch.float16),
            ("u8b128 f16", self.cuda(7, k, dtype=torch.float16), b8, {"b_type": "u8b128"}, torch.float16),
            ("int8 act", self.cuda(3, k, dtype=torch.int8), b4, {"out_dtype": torch.bfloat16}, torch.bfloat16),
        ]
        for label, a, b_q, kw, want in cases:
            with self.subTest(label):
                scales = s16.to(want)
                kw = {"b_type": "u4b8", **kw}
                c = ops.gemm(a, b_q, scales, group_size=128, **kw)
                self.assertEqual((tuple(c.shape), c.dtype, c.device.type), ((a.shape[0], n), want, "cuda"))

    def test_gemm_errors_while_tracing(self) -> None:
        # The checks that read no data pointer run on fake tensors too, with the eager call's message.
        a = self.cuda(5, self.k, dtype=torch.float16)
        b_q = self.cuda(self.k // 16, 2 * self.n, dtype=torch.int32)
        s = self.cuda(self.k // 128, self.n, dtype=torch.float16)
        with self.assertRaisesRegex(ValueError, r"^scales: expected shape \[4, 128\], got \[2, 128\]"):
            ops.gemm(a, b_q, s, b_type="u4b8", group_size=64)
        with self.assertRaisesRegex(ValueError, r"^zeros: b_type 'u4' \(AWQ\) needs zero points"):
            ops.gemm(a, b_q, s, b_type="u4", group_size=128)
        out = self.cuda(5, self.n + 64, dtype=torch.float16)
        with self.assertRaisesRegex(ValueError, r"^out: expected shape \[5, 128\], got \[5, 192\]"):
            ops.gemm(a, b_q, s, b_type="u4b8", group_size=128, out=out)
        with self.assertRaisesRegex(ValueError, r"^a: must be a CUDA tensor, got one on cpu"):
            ops.gemm(torch.empty(5, self.k, dtype=torch.float16), b_q, s, b_type="u4b8", group_size=128)
        with self.assertRaisesRegex(ValueError, r"^perm, g_idx_sorted, num_groups: act-order needs all three"):
            torch.ops.marlin_bazel.gemm(a, b_q, s, "u4b8", group_size=128, num_groups=2)

    def test_traced_layer_is_one_op(self) -> None:
        from torch.fx.experimental.proxy_tensor import make_fx

        def layer(x: torch.Tensor, b_q: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
            return torch.relu(ops.gemm(x, b_q, s, b_type="u4b8", group_size=128))

        gm = make_fx(layer)(
            self.cuda(5, self.k, dtype=torch.float16),
            self.cuda(self.k // 16, 2 * self.n, dtype=torch.int32),
            self.cuda(self.k // 128, self.n, dtype=torch.float16),
        )
        targets = [str(node.target) for node in gm.graph.nodes if node.op == "call_function"]
        self.assertEqual(targets, ["marlin_bazel.gemm.default", "aten.relu.default"])

    def test_compiles_fullgraph_without_a_gpu(self) -> None:
        # torch.compile(fullgraph=True) traces the public gemm (its Python checks included) into one op node, with
        # M dynamic. No GPU here: the tensors are CPU ones that the device check lets through, and the real
        # implementation is a stand-in returning ones (the GPU suite's TorchOpsTest runs the real one).
        from unittest import mock

        from marlin_bazel import _custom_ops, _gemm_args

        self.mode.__exit__(None, None, None)  # real CPU tensors for torch.compile
        self.addCleanup(self.mode.__enter__)

        def stand_in(out: torch.Tensor | None, *args: object, **kwargs: object) -> torch.Tensor:
            call = _gemm_args.check_gemm(out, *args, **kwargs)
            return torch.ones(call.m, call.n, dtype=call.c_dtype)

        k, n = self.k, self.n
        b_q = torch.zeros(k // 16, 2 * n, dtype=torch.int32)
        s = torch.zeros(k // 128, n, dtype=torch.float16)

        def layer(x: torch.Tensor) -> torch.Tensor:
            return torch.relu(ops.gemm(x, b_q, s, b_type="u4b8", group_size=128)) * 2

        with (
            mock.patch.object(_checks, "cuda", lambda *a, **kw: None),
            mock.patch.object(_custom_ops, "_run_gemm", stand_in),
        ):
            torch._dynamo.reset()
            compiled = torch.compile(layer, fullgraph=True, backend="aot_eager", dynamic=True)
            for m in (3, 16, 77):
                y = compiled(torch.zeros(m, k, dtype=torch.float16))
                self.assertEqual((tuple(y.shape), y.dtype), ((m, n), torch.float16))
                self.assertTrue(bool((y == 2).all()))
        torch._dynamo.reset()

    def stand_in_library(
        self, calls: list[dict[str, object]], stream: list[int], plan: str = ""
    ) -> contextlib.ExitStack:
        """Real CPU tensors from here on (the device check lets them through), and an entered context (close it, or
        use it in `with`) with the real implementation against a stand-in library that records the C arguments of
        every gemm (or gemm_plan, which returns `plan`) call into `calls`; the stream is stream[0], 4
        multiprocessors, no default workspaces yet."""
        from unittest import mock

        from marlin_bazel import _custom_ops, _lib

        self.mode.__exit__(None, None, None)  # real CPU tensors
        self.addCleanup(self.mode.__enter__)

        def record(args: _lib.MarlinGemmArgs) -> None:
            calls.append({name: getattr(args, name) for name, _ in args._fields_})

        class Recorder:
            def workspace_bytes(self, sm_count: int) -> int:
                return 1024 * sm_count

            def gemm(self, args: _lib.MarlinGemmArgs) -> None:
                if plan:
                    raise AssertionError("gemm_plan must not launch")
                record(args)

            def gemm_plan(self, args: _lib.MarlinGemmArgs) -> str:
                record(args)
                return plan

        stack = contextlib.ExitStack()
        for patch in (
            mock.patch.object(_checks, "cuda", lambda *a, **kw: None),
            mock.patch.object(_checks, "sm_count", lambda device: 4),
            mock.patch.object(_checks, "stream", lambda device: stream[0]),
            mock.patch.object(_lib, "get", Recorder),
            mock.patch.object(torch.cuda, "device", lambda device: contextlib.nullcontext()),
            mock.patch.dict(_custom_ops._workspaces, clear=True),
        ):
            stack.enter_context(patch)
        return stack

    def test_real_implementation_passes_the_call_on(self) -> None:
        # The real implementation against a stand-in library that records what it gets (no GPU here: CPU tensors
        # that the device check lets through): sizes, types, the tuning overrides, the stream, out and the
        # workspace, one default workspace per stream and a caller's workspace zeroed on its first call.
        from marlin_bazel import _custom_ops, _lib

        calls: list[dict[str, object]] = []
        stream = [77]
        library = self.stand_in_library(calls, stream)  # (first: the tensors below are real ones)
        k, n = self.k, self.n
        a = torch.zeros(5, k, dtype=torch.float16)
        b_q = torch.zeros(k // 16, 2 * n, dtype=torch.int32)
        s = torch.zeros(k // 128, n, dtype=torch.float16)
        ws = torch.full((4096,), 255, dtype=torch.uint8)
        out = torch.empty(5, n, dtype=torch.float16)
        with library:
            c = ops.gemm(a, b_q, s, b_type="u4b8", group_size=128, thread_config=(64, 256))
            ops.gemm(a, b_q, s, b_type="u4b8", group_size=128, workspace=ws, out=out, blocks_per_sm=1)
            stream[0] = 78
            ops.gemm(a, b_q, s, b_type="u4b8", group_size=128)
            workspaces = dict(_custom_ops._workspaces)
        self.assertEqual((tuple(c.shape), c.dtype), ((5, n), torch.float16))
        self.assertEqual(int(ws.max()), 0)  # zeroed by its first call
        self.assertEqual(sorted(key[1] for key in workspaces), [77, 78])
        self.assertEqual(len(calls), 3)
        common = {"m": 5, "n": n, "k": k, "lda": k, "ldc": n, "group_size": 128, "a_type": _lib.ScalarType.FLOAT16,
                  "b_type": _lib.ScalarType.U4B8, "c_type": _lib.ScalarType.FLOAT16, "s_type": _lib.ScalarType.FLOAT16,
                  "sm_count": 4, "workspace_bytes": 4096}  # fmt: skip
        want = [
            {**common, "stream": 77, "force_thread_k": 64, "force_thread_n": 256, "force_blocks_per_sm": 0},
            {**common, "stream": 77, "force_thread_k": 0, "force_thread_n": 0, "force_blocks_per_sm": 1},
            {**common, "stream": 78, "force_thread_k": 0, "force_thread_n": 0, "force_blocks_per_sm": 0},
        ]
        for i, (got, expected) in enumerate(zip(calls, want)):
            with self.subTest(call=i):
                self.assertEqual({key: got[key] for key in expected}, expected)
        self.assertEqual((calls[0]["c"], calls[1]["c"]), (c.data_ptr(), out.data_ptr()))
        self.assertEqual(calls[1]["workspace"], ws.data_ptr())
        self.assertEqual({calls[0]["workspace"], calls[2]["workspace"]}, {w.data_ptr() for w in workspaces.values()})

    def test_gemm_plan_passes_the_call_on(self) -> None:
        # ops.gemm_plan against a stand-in library: it gets the C arguments gemm would get (the tuning overrides
        # included), launches nothing, and its key=value text comes back as a dict of ints and strings; bad
        # arguments fail as they do for gemm.
        from marlin_bazel import _lib

        calls: list[dict[str, object]] = []
        library = self.stand_in_library(calls, [77], "family=sm90 a=float16 thread_m_blocks=8 grid=132 sk_share=-1")
        k, n = self.k, self.n
        a = torch.zeros(200, k, dtype=torch.float16)
        b_q = torch.zeros(k // 16, 2 * n, dtype=torch.int32)
        s = torch.zeros(k // 128, n, dtype=torch.float16)
        with library:
            plan = ops.gemm_plan(a, b_q, s, b_type="u4b8", group_size=128, thread_config=(64, 256), blocks_per_sm=1)
            with self.assertRaisesRegex(ValueError, r"blocks_per_sm: 3 is not one of \[0, 1, 2\]"):
                ops.gemm_plan(a, b_q, s, b_type="u4b8", group_size=128, blocks_per_sm=3)
            with self.assertRaisesRegex(ValueError, "b_type"):
                ops.gemm_plan(a, b_q, s, b_type="u3", group_size=128)
        self.assertEqual(plan, {"family": "sm90", "a": "float16", "thread_m_blocks": 8, "grid": 132, "sk_share": -1})
        self.assertEqual(len(calls), 1)
        want = {"m": 200, "n": n, "k": k, "group_size": 128, "b_type": _lib.ScalarType.U4B8, "sm_count": 4,
                "stream": 77, "force_thread_k": 64, "force_thread_n": 256, "force_blocks_per_sm": 1}  # fmt: skip
        self.assertEqual({key: calls[0][key] for key in want}, want)

    def test_repack_outputs(self) -> None:
        k, n = self.k, self.n
        q4, q8 = self.cuda(k // 8, n, dtype=torch.int32), self.cuda(k // 4, n, dtype=torch.int32)
        self.assertEqual(tuple(ops.repack_gptq(q4, k, n).shape), (k // 16, 2 * n))
        self.assertEqual(tuple(ops.repack_gptq(q8, k, n, bits=8).shape), (k // 16, 4 * n))
        self.assertEqual(tuple(ops.repack_awq(self.cuda(k, n // 8, dtype=torch.int32), k, n).shape), (k // 16, 2 * n))
        s = ops.permute_scales(self.cuda(2, n, dtype=torch.bfloat16))
        self.assertEqual((tuple(s.shape), s.dtype), ((2, n), torch.bfloat16))
        z = ops.awq_zeros(self.cuda(2, n // 8, dtype=torch.int32), n, torch.float16)
        self.assertEqual((tuple(z.shape), z.dtype), ((2, n), torch.float16))
        with self.assertRaisesRegex(ValueError, r"^qweight: expected shape \[32, 128\]"):
            ops.repack_gptq(q8, k, n)
        with self.assertRaisesRegex(TypeError, r"^k: expected an int, got float"):
            ops.repack_gptq(q4, 256.0, n)


if __name__ == "__main__":
    unittest.main()
