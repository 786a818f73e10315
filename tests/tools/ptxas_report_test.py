"""tools/ptxas_report.py reads what ptxas -v prints: registers, spills and performance warnings per kernel.

The log below is ptxas 13.0's output for two sm90-family kernels (the 128-token tile, and a 2-M-block kernel of an
experiment whose wgmma ptxas serialized), cut to the lines the report reads and the ones around them.
"""

from __future__ import annotations

import unittest
from pathlib import Path

from tools import ptxas_report

KERNEL = (
    "_ZN6marlin23marlin_gemm_kernel_sm90ILNS_12ScalarTypeIdE0ELS1_5ELS1_0ELS1_0ELi256ELi{}ELi16ELi4ELb0ELi4ELi8ELb0EEE"
    "vNS_10GemmParamsE"
)
TILE128, TWO_BLOCKS = KERNEL.format(8), KERNEL.format(2)  # thread_m_blocks 8 and 2
LOG = f"""ptxas info    : 0 bytes gmem
ptxas info    : Compiling entry function '{TILE128}' for 'sm_90a'
ptxas info    : Function properties for {TILE128}
    8 bytes stack frame, 8 bytes spill stores, 12 bytes spill loads
ptxas info    : Used 255 registers, used 1 barriers, 8 bytes cumulative stack size, 1024 bytes smem
ptxas info    : Compile time = 885.689 ms
ptxas info    : Compiling entry function '{TWO_BLOCKS}' for 'sm_90a'
ptxas info    : (C7513) Potential Performance Loss: wgmma.mma_async instructions are serialized due to non wgmma \
instructions defining input registers of a wgmma between start and end of the pipeline stage in the function \
'{TWO_BLOCKS}'
ptxas info    : Function properties for {TWO_BLOCKS}
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 158 registers, used 1 barriers, 1024 bytes smem
"""


class ParseTest(unittest.TestCase):
    def test_registers_spills_and_warnings_per_kernel(self) -> None:
        tile128, two_blocks = ptxas_report.parse(Path("sm90_kernel_float16_u4b8_float16_part1of2.cu"), LOG)
        self.assertEqual((tile128.name, tile128.registers), (TILE128, 255))
        self.assertEqual((tile128.spill_stores, tile128.spill_loads, tile128.warnings), (8, 12, ()))
        self.assertEqual((two_blocks.name, two_blocks.registers), (TWO_BLOCKS, 158))
        self.assertEqual((two_blocks.spill_stores, two_blocks.spill_loads), (0, 0))
        self.assertEqual(two_blocks.warnings, ("C7513",))
        self.assertEqual((tile128.spills, two_blocks.spills), (True, False))

    def test_describe_reads_the_template_arguments(self) -> None:
        tile128 = ptxas_report.parse(Path("f.cu"), LOG)[0]
        self.assertEqual(tile128.describe(), ["sm90 (wgmma)", "f16/u4b8/f16/f16", "256, 8, 16, 4, 0, 4, 8, 0"])


if __name__ == "__main__":
    unittest.main()
