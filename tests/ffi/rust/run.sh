#!/usr/bin/env bash
# Build the Rust FFI client with rustc alone (no cargo, no crates) against the
# built libvmctr.so, make a busybox image with the library's own writer (via
# vmctr-image build), and run it. TAP on stdout.
# usage: run.sh SRCDIR LIBDIR VMCTR_IMAGE_EXE
set -euo pipefail
src=$1 libdir=$2 image_exe=$3
if ! command -v rustc >/dev/null; then echo "1..0 # SKIP rustc not installed"; exit 0; fi
if [ -z "${VMCTR_TEST_KERNEL:-}" ] || [ ! -r "$VMCTR_TEST_KERNEL" ]; then
  echo "1..0 # SKIP no guest kernel (VMCTR_TEST_KERNEL)"; exit 0
fi
tmp=$(mktemp -d /tmp/vmctr-rustffi-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# Under ASan the library needs its runtime loaded first: preload it into the
# (uninstrumented) Rust program, as the Python test does for the interpreter.
# (No `ldd | grep -q`: with pipefail, grep's early exit fails the pipeline.)
preload=$(ldd "$libdir/libvmctr.so" | awk '/libasan/ && !found { print $3; found = 1 }')
[ -z "$preload" ] || export ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0
rustc --edition 2018 -O -o "$tmp/client" -L "$libdir" -C "link-arg=-Wl,-rpath,$libdir" \
  "$src/client.rs" >&2
mkdir -p "$tmp/rootfs/bin" "$tmp/rootfs/etc"
cp /bin/busybox "$tmp/rootfs/bin/busybox"
ln -s busybox "$tmp/rootfs/bin/sh"
ln -s busybox "$tmp/rootfs/bin/echo"
echo 'root:x:0:0:root:/root:/bin/sh' > "$tmp/rootfs/etc/passwd"
"$image_exe" build "$tmp/rootfs" "$tmp/layout" >&2
[ -z "$preload" ] || export LD_PRELOAD="$preload${LD_PRELOAD:+ $LD_PRELOAD}"
"$tmp/client" "$tmp/layout" "$tmp/store" "$VMCTR_TEST_KERNEL"
