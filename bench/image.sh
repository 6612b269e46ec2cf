#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark: image import + unpack through libvmctr against `tar -xzf` of the
# same layer, and ext4 image creation. A report (medians of N), never pass/fail.
#
#   bash bench/image.sh BUILD/examples/vmctr-image [N]
#
# It generates, once, in a temp dir, a rootfs of ~100 MB of gzip-compressed
# content (many small files and a few large ones), packs it with
# `vmctr-image build` into an OCI layout (one gzip layer), then alternates:
#   import: a fresh store, `vmctr-image import` (verify + copy blobs + unpack + syncfs)
#   tar:    `tar -xzf LAYER -C fresh_dir` (unpack only, no verification, no sync)
#   ext4:   `vmctr-image ext4` on the imported image (mke2fs -d), cache removed each time
set -euo pipefail
tool=$(realpath "${1:-build/examples/vmctr-image}")
n=${2:-5}
work=$(mktemp -d /var/tmp/vmctr-bench-image-XXXXXX)
trap 'rm -rf "$work"' EXIT

# ---- the data set: deterministic, partly compressible (like real binaries) ----
python3 - "$work/rootfs" <<'PY'
import os, random, sys
root = sys.argv[1]
rnd = random.Random(42)
def blob(n):
    # half random, half repetitive text: gzips to about 60%
    r = rnd.randbytes(n // 2)
    t = (b"libvmctr benchmark line %d\n" * (n // 48 + 1))[: n - len(r)]
    return r + t
os.makedirs(root)
for d in range(60):
    dp = os.path.join(root, "usr/share/d%02d" % d)
    os.makedirs(dp)
    for f in range(300):  # 18000 small files, 0.5-8 KiB
        with open(os.path.join(dp, "f%03d" % f), "wb") as fh:
            fh.write(blob(rnd.randint(512, 8192)))
    os.symlink("d%02d/f000" % d, os.path.join(root, "usr/share/l%02d" % d))
os.makedirs(os.path.join(root, "opt/big"))
for i in range(4):  # a few large files
    with open(os.path.join(root, "opt/big/large%d.bin" % i), "wb") as fh:
        for _ in range(24):
            fh.write(blob(1 << 20))
PY
"$tool" build "$work/rootfs" "$work/layout" --cmd /bin/sh 2>/dev/null
layer=$(ls -S "$work/layout/blobs/sha256" | head -1)
layer="$work/layout/blobs/sha256/$layer"
files=$(find "$work/rootfs" | wc -l)
echo "data set: $files entries, $(du -sm --apparent-size "$work/rootfs" | cut -f1) MB apparent, layer $(( $(stat -c %s "$layer") / 1000000 )) MB gzip"
rm -rf "$work/rootfs"

now() { date +%s.%N; }
declare -a t_import t_tar t_tarsync t_ext4
for i in $(seq "$n"); do
  rm -rf "$work/store" "$work/x"; sync
  a=$(now); "$tool" --store "$work/store" import "$work/layout" >/dev/null; b=$(now)
  t_import+=("$(echo "$b - $a" | bc)")
  digest=$("$tool" --store "$work/store" list)
  rm -f "$work/store/snapshots/${digest#sha256:}/rootfs.ext4"; sync
  a=$(now); "$tool" --store "$work/store" ext4 "$digest" >/dev/null; b=$(now)
  t_ext4+=("$(echo "$b - $a" | bc)")
  rm -rf "$work/store"; sync
  mkdir "$work/x"
  a=$(now); tar -xzf "$layer" -C "$work/x"; b=$(now); sync; c=$(now)
  t_tar+=("$(echo "$b - $a" | bc)")
  t_tarsync+=("$(echo "$c - $a" | bc)")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
mi=$(median "${t_import[@]}"); mt=$(median "${t_tar[@]}"); ms=$(median "${t_tarsync[@]}"); me=$(median "${t_ext4[@]}")
echo "median of $n runs (seconds):"
printf '  %-44s %8.3f\n' "vmctr-image import (verify+copy+unpack+sync)" "$mi"
printf '  %-44s %8.3f\n' "baseline: tar -xzf" "$mt"
printf '  %-44s %8.3f\n' "baseline: tar -xzf + sync" "$ms"
printf '  %-44s %8.3f\n' "vmctr-image ext4 (mke2fs -d)" "$me"
echo "ratio import / tar -xzf: $(echo "scale=2; $mi / $mt" | bc)   import / (tar + sync): $(echo "scale=2; $mi / $ms" | bc)"
