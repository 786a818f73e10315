"""Registers, spills and performance warnings of every kernel instantiation in generated kernel files, from
`ptxas -v`, as a markdown table: what the kernel comments and docs/PERFORMANCE.md cite when a change adds
registers. A warning such as C7513 means ptxas ran that kernel's wgmma one at a time (a fragment register it saw
written while a wgmma reading it may still be in flight): a silent loss of most of the tensor cores' overlap.

    ./bazelw build //csrc:libmarlin.so --config=sm90
    python3 tools/ptxas_report.py bazel-bin/csrc/marlin_kernels/sm90_*.cu [-j 2] [--spills-only] > report.md

Each file is compiled for the arch of its family (sm75_ -> sm_75, sm80_ -> sm_80, sm89_ -> sm_89, sm90_ ->
sm_90a; --arch overrides) with the headers of csrc/ and the file's own folder (its kernel_selector.h), by the nvcc
of $CUDA_PATH, else of PATH, else /usr/local/cuda. Exits with 1 if a compile fails.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAMILY_ARCH = {"sm75": "75", "sm80": "80", "sm89": "89", "sm90": "90a"}
# csrc/marlin/scalar_type.cuh
TYPE_NAMES = ("f16", "bf16", "s8", "e4m3", "u4", "u4b8", "u8b128", "e2m1", "e8m0")
ENTRY = re.compile(r"Compiling entry function '(\S+)'")
REGISTERS = re.compile(r"Used (\d+) registers")
SPILLS = re.compile(r"(\d+) bytes spill stores, (\d+) bytes spill loads")
# ptxas's performance warnings name their kernel: C7513 (and C7510, C7515...) say its wgmma run one at a time.
WARNING = re.compile(r"\((C\d+)\) Potential Performance Loss:.* in the function '(\S+)'")
# A template argument of the mangled name: a ScalarTypeId (first spelled out, then a back-reference) or an int/bool.
TEMPLATE_ARG = re.compile(r"L(?:NS_12ScalarTypeIdE|S\d*_)(\d+)E|L([ib])(n?)(\d+)E")


@dataclass
class Kernel:
    file: str
    name: str
    registers: int = 0
    spill_stores: int = 0
    spill_loads: int = 0
    warnings: tuple[str, ...] = ()

    @property
    def spills(self) -> bool:
        return bool(self.spill_stores or self.spill_loads)

    def describe(self) -> list[str]:
        """kernel, types a/b/c/s and the int template arguments, from the mangled name."""
        kernel = "sm90 (wgmma)" if "marlin_gemm_kernel_sm90" in self.name else "mma.sync"
        types: list[str] = []
        ints: list[str] = []
        for m in TEMPLATE_ARG.finditer(self.name):
            if m.group(1) is not None:
                index = int(m.group(1))
                types.append(TYPE_NAMES[index] if index < len(TYPE_NAMES) else m.group(1))
            else:
                ints.append(("-" if m.group(3) else "") + m.group(4))
        return [kernel, "/".join(types), ", ".join(ints)]


def nvcc_path() -> str:
    cuda = os.environ.get("CUDA_PATH")
    if cuda:
        return str(Path(cuda) / "bin" / "nvcc")
    return shutil.which("nvcc") or "/usr/local/cuda/bin/nvcc"


def arch_of(file: Path, forced: str | None) -> str:
    if forced:
        return forced
    family = file.name.split("_", 1)[0]
    if family not in FAMILY_ARCH:
        raise SystemExit(f"{file}: no family prefix ({', '.join(FAMILY_ARCH)}); pass --arch")
    return FAMILY_ARCH[family]


def compile_file(nvcc: str, file: Path, arch: str) -> tuple[Path, int, str]:
    cmd = [nvcc, "-std=c++17", "-O3", "--expt-relaxed-constexpr", f"-gencode=arch=compute_{arch},code=sm_{arch}",
           "-I", str(ROOT / "csrc"), "-I", str(ROOT / "csrc" / "include"), "-I", str(file.parent),
           "-Xptxas", "-v", "-c", str(file), "-o", os.devnull]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return file, done.returncode, done.stdout + done.stderr


def parse(file: Path, log: str) -> list[Kernel]:
    kernels: list[Kernel] = []
    warnings: dict[str, list[str]] = {}
    for line in log.splitlines():
        if m := WARNING.search(line):
            warnings.setdefault(m.group(2), []).append(m.group(1))
        if m := ENTRY.search(line):
            kernels.append(Kernel(file.name, m.group(1)))
        elif kernels and (m := SPILLS.search(line)):
            kernels[-1].spill_stores, kernels[-1].spill_loads = int(m.group(1)), int(m.group(2))
        elif kernels and (m := REGISTERS.search(line)):
            kernels[-1].registers = int(m.group(1))
    for k in kernels:
        k.warnings = tuple(sorted(set(warnings.get(k.name, ()))))
    return kernels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path, help="generated kernel files (.cu)")
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1, help="compiles at once")
    parser.add_argument("--arch", help="compile for this arch (e.g. 90a) instead of the family's")
    parser.add_argument("--spills-only", action="store_true", help="list only the kernels that spill or warn")
    args = parser.parse_args()

    nvcc = nvcc_path()
    jobs = [(f, arch_of(f, args.arch)) for f in args.files]
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(lambda job: compile_file(nvcc, *job), jobs))
    failed = [(f, log) for f, rc, log in results if rc != 0]
    for f, log in failed:
        print(f"{f}: compile failed\n{log}", file=sys.stderr)

    kernels = [k for f, rc, log in results if rc == 0 for k in parse(f, log)]
    spilling = sum(k.spills for k in kernels)
    warned = sum(bool(k.warnings) for k in kernels)
    print(
        f"{len(kernels)} kernels in {len(results) - len(failed)} files; {spilling} spill; "
        f"{warned} with ptxas performance warnings (C7513 and the like: wgmma serialized)\n"
    )
    print("| file | kernel | a/b/c/s | threads, m blocks, n blocks, k blocks, m8, stages, group blocks, zp float | "
          "registers | spill stores | spill loads | warnings |\n"
          "| --- | --- | --- | --- | ---: | ---: | ---: | --- |")  # fmt: skip
    listed = [k for k in kernels if k.spills or k.warnings] if args.spills_only else kernels
    for k in sorted(listed, key=lambda k: (k.file, k.name)):
        cells = [k.file, *k.describe(), str(k.registers), str(k.spill_stores), str(k.spill_loads), " ".join(k.warnings)]
        print("| " + " | ".join(cells) + " |")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
