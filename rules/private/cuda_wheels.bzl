"""The hermetic CUDA toolkit (MARLIN_CUDA=hermetic, the default): NVIDIA's pinned PyPI wheels in one folder.

The wheels of `rules/cuda_wheels_lock.txt` (nvcc, nvvm, crt, runtime, cccl) all unpack under `nvidia/cu13/`;
together they form a toolkit root with bin/ (nvcc, cudafe++, ptxas, fatbinary, nvlink), nvvm/ (cicc,
libdevice), include/ and lib/ (libcudart_static.a). pip downloads them with `--require-hashes`, from the
package index or only from `MARLIN_WHEELHOUSE`; nothing else is fetched, and nothing of the machine's own CUDA
is read.
"""

load(":cuda_toolkit.bzl", "toolkit_build")
load(":python.bzl", "find_python", "run_pip")

# Unpacks the toolkit part of every wheel in a folder into another folder, keeping the executable bits (zip
# members carry their Unix mode in the high bits of external_attr), then deletes the wheels.
_UNPACK = """
import os, sys, zipfile

wheels, out = sys.argv[1], sys.argv[2]
prefix = "nvidia/cu13/"
count = 0
for name in sorted(os.listdir(wheels)):
    if not name.endswith(".whl"):
        continue
    with zipfile.ZipFile(os.path.join(wheels, name)) as wheel:
        for info in wheel.infolist():
            rel = info.filename[len(prefix):] if info.filename.startswith(prefix) else ""
            if not rel or rel.endswith("/") or rel.startswith(".metadata/"):
                continue
            target = os.path.join(out, rel)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with wheel.open(info) as src, open(target, "wb") as dst:
                dst.write(src.read())
            os.chmod(target, ((info.external_attr >> 16) & 0o777) or 0o644)
            count += 1
    os.remove(os.path.join(wheels, name))
print(count)
"""

def assemble_cuda_from_wheels(rctx, python, lock, root):
    """Downloads the wheels of `lock` with pip and unpacks them into `root` (relative to the repository).

    Args:
      rctx: the repository context.
      python: the Python interpreter (path string) whose pip downloads the wheels.
      lock: path of the hash-pinned requirements file.
      root: folder of the repository that becomes the toolkit root, e.g. "cuda".

    Returns:
      The number of files unpacked; fails with a message that names the lock file on any error.
    """
    wheels = str(rctx.path("_wheels"))
    args = ["download", "--no-deps", "--require-hashes", "--only-binary=:all:", "--dest", wheels, "-r", str(lock)]
    run_pip(rctx, python, args, "the CUDA wheels of %s" % lock, timeout = 1200)
    rctx.report_progress("unpacking the CUDA wheels")
    result = rctx.execute([python, "-c", _UNPACK, wheels, str(rctx.path(root))], timeout = 600, quiet = True)
    if result.return_code != 0:
        fail("marlin-bazel: could not unpack the CUDA wheels of %s: %s" % (lock, result.stderr.strip()))
    for needed in ["bin/nvcc", "nvvm/bin/cicc", "include/cuda_runtime.h", "lib/libcudart_static.a"]:
        if not rctx.path("%s/%s" % (root, needed)).exists:
            fail("marlin-bazel: the CUDA wheels of %s have no %s" % (lock, needed))
    return int(result.stdout.strip())

def _marlin_cuda_wheels_impl(rctx):
    rctx.file("WORKSPACE", 'workspace(name = "%s")\n' % rctx.name)
    python, _ = find_python(rctx)
    lock = rctx.path(rctx.attr.lock)
    count = assemble_cuda_from_wheels(rctx, python, lock, "cuda")
    where = "cuda/ of this repository, %d files from the wheels of %s" % (count, rctx.attr.lock)
    rctx.file("BUILD.bazel", toolkit_build(rctx, "marlin_cuda_wheels", where, "cuda/bin/nvcc", "cuda", "cuda/", hermetic = True))

marlin_cuda_wheels = repository_rule(
    implementation = _marlin_cuda_wheels_impl,
    attrs = {
        "lock": attr.label(
            default = Label("//rules:cuda_wheels_lock.txt"),
            allow_single_file = True,
            doc = "Hash-pinned requirements file of the CUDA wheels: the toolkit version is this one setting.",
        ),
    },
    environ = ["CUDAHOSTCXX", "MARLIN_PYTHON", "MARLIN_WHEELHOUSE", "PATH"],
    doc = "A CUDA toolkit assembled from NVIDIA's pinned PyPI wheels; fetched only when @marlin_cuda uses it " +
          "(MARLIN_CUDA=hermetic, the default).",
)
