#!/usr/bin/env bash
# Build-time benchmark (docs/PERFORMANCE.md, "Build"): five builds of the same targets in a fresh output base,
# each timed and profiled (Bazel's --profile, summarized by bench/build_profile.py):
#   cold     the fresh output base: fetching the Python packages, analysis, every action
#   no-op    the same build again
#   touched  templates/kernel_file.cu.jinja touched, its content unchanged
#   catalog  a comment appended to generator/catalog.py: the generator reruns, its files come out the same
#   edited   a C++ comment appended to templates/kernel_file.cu.jinja, so every generated kernel file changes
# (both files are restored at the end)
# then the generated instantiations, the kernel objects' bytes per family and the size of every .so built.
#
#   bench/build_times.sh [BAZEL_BUILD_ARGS...]    default: //csrc:marlin //csrc:libmarlin.so --config=sm89
#
# OUTPUT_BASE=DIR keeps the output base there (default: a temporary folder, deleted at the end). Uses no
# convenience symlinks (--symlink_prefix=/), so bazel-bin of the checkout is left alone.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
args=("$@")
[[ ${#args[@]} -gt 0 ]] || args=(//csrc:marlin //csrc:libmarlin.so --config=sm89)
base=${OUTPUT_BASE:-$(mktemp -d /tmp/marlin_build_times.XXXXXX)}
work=$(mktemp -d)
template=templates/kernel_file.cu.jinja
catalog=generator/catalog.py
cp "$template" "$work/template.bak"
cp "$catalog" "$work/catalog.bak"

cleanup() {
  cp "$work/template.bak" "$template"
  cp "$work/catalog.bak" "$catalog"
  ./bazelw --output_base="$base" shutdown >/dev/null 2>&1 || true
  if [[ -z "${OUTPUT_BASE:-}" ]]; then
    chmod -R u+w "$base" 2>/dev/null || true
    rm -rf "$base"
  fi
  rm -rf "$work"
}
trap cleanup EXIT

bazel() { ./bazelw --output_base="$base" "$@"; }

echo "host: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "bazel build ${args[*]}"
flags=()
for a in "${args[@]}"; do [[ "$a" != -* ]] || flags+=("$a"); done
bin=""
instantiations=0
step() {
  local name=$1 start end
  start=$(date +%s.%N)
  bazel build "${args[@]}" --symlink_prefix=/ --profile="$work/$name.json" >"$work/$name.log" 2>&1 ||
    { tail -20 "$work/$name.log"; exit 1; }
  end=$(date +%s.%N)
  echo "== $name: wall $(python3 -c "print(f'{$end - $start:.1f}')") s"
  if [[ -z "$bin" ]]; then  # after the first (cold) build: what it generated
    bin=$(bazel info bazel-bin ${flags[@]+"${flags[@]}"} 2>/dev/null | tail -1)
    local kernel_files=("$bin"/csrc/marlin_kernels/*.cu)
    instantiations=$(cat "${kernel_files[@]}" | grep -c '^template __global__' || true)
    echo "   generated: $instantiations instantiations in ${#kernel_files[@]} files"
  fi
  python3 bench/build_profile.py "$work/$name.json" --instantiations "$instantiations" | sed 's/^/   /'
}

step cold
step no-op
touch "$template"
step touched
echo "# bench/build_times.sh: a changed catalog file" >>"$catalog"
step catalog
cp "$work/catalog.bak" "$catalog"
echo "// bench/build_times.sh: a changed template" >>"$template"
step edited
cp "$work/template.bak" "$template"
echo "== sizes"
for dir in "$bin"/csrc/_objs/*/csrc/marlin_kernels; do
  [[ -d "$dir" ]] || continue
  objs=("$dir"/*.o)
  echo "   $(cat "${objs[@]}" | wc -c) bytes in ${#objs[@]} kernel objects of $(basename "$(dirname "$(dirname "$dir")")")"
done
for so in "$bin"/csrc/*.so; do [[ -f "$so" ]] && echo "   $(stat -c %s "$so") bytes $(basename "$so")"; done
