#!/bin/sh
# Builds libvmctr's tailored guest kernel: Debian's linux-source-6.1, `make tinyconfig`,
# plus a fragment, everything built in. Cached by a hash of the architecture, the
# fragment, this script and the source package version, so a rebuild is free.
#
#   kernel/build-kernel.sh [--arch x86_64|aarch64] [--out DIR] [--jobs N]
#
# x86_64 (default): kernel/vmctr.config, writes DIR/bzImage and DIR/config.
# aarch64: kernel/vmctr-arm64.config, cross-built with aarch64-linux-gnu-gcc (Debian:
# gcc-aarch64-linux-gnu), writes the uncompressed DIR/Image-arm64 and DIR/config-arm64.
# DIR defaults to kernel/out next to this script.
# Environment: VMCTR_KERNEL_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/libvmctr/kernel),
# VMCTR_KERNEL_SOURCE (default /usr/src/linux-source-6.1.tar.xz).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out="$here/out"
jobs=$(nproc 2>/dev/null || echo 2)
arch=x86_64
source_tar=${VMCTR_KERNEL_SOURCE:-/usr/src/linux-source-6.1.tar.xz}
cache=${VMCTR_KERNEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/libvmctr/kernel}

usage() {
	sed -n '2,13s/^# \{0,1\}//p' "$0"
}

die() {
	echo "build-kernel.sh: $*" >&2
	exit 1
}

while [ $# -gt 0 ]; do
	case "$1" in
	--out) [ $# -ge 2 ] || die "--out needs a directory"; out=$2; shift 2 ;;
	--out=*) out=${1#--out=}; shift ;;
	--arch) [ $# -ge 2 ] || die "--arch needs x86_64 or aarch64"; arch=$2; shift 2 ;;
	--arch=*) arch=${1#--arch=}; shift ;;
	--jobs) [ $# -ge 2 ] || die "--jobs needs a number"; jobs=$2; shift 2 ;;
	--jobs=*) jobs=${1#--jobs=}; shift ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument '$1'" ;;
	esac
done
case "$jobs" in ''|*[!0-9]*) die "--jobs wants a positive number, not '$jobs'" ;; esac

# Per architecture: fragment, make's ARCH and CROSS_COMPILE, target, and the published names.
case "$arch" in
x86_64)
	fragment="$here/vmctr.config" karch=x86_64 cross="" target=bzImage
	image=arch/x86/boot/bzImage out_image=bzImage out_config=config
	;;
aarch64|arm64)
	arch=aarch64
	fragment="$here/vmctr-arm64.config" karch=arm64 cross=${VMCTR_KERNEL_CROSS:-aarch64-linux-gnu-}
	target=Image image=arch/arm64/boot/Image out_image=Image-arm64 out_config=config-arm64
	;;
*) die "unknown --arch '$arch' (x86_64 or aarch64)" ;;
esac

[ -r "$source_tar" ] || die "no kernel source at $source_tar: install linux-source-6.1 (apt-get install linux-source-6.1) or set VMCTR_KERNEL_SOURCE"
[ -r "$fragment" ] || die "missing config fragment $fragment"
for tool in make gcc flex bison bc flock sha256sum tar; do
	command -v "$tool" >/dev/null 2>&1 || die "'$tool' is needed to build the kernel: install it (Debian: build-essential flex bison bc libelf-dev libssl-dev)"
done

# The source package version identifies the tarball cheaply; hash it when dpkg does not know it.
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || true)
if [ -z "$srcver" ] || [ -n "${VMCTR_KERNEL_SOURCE:-}" ]; then
	srcver=$(sha256sum < "$source_tar" | cut -d' ' -f1)
fi
hash=$( { printf 'arch %s\n' "$arch"; cat "$fragment" "$0"; printf 'source %s\n' "$srcver"
	[ -z "$cross" ] || "${cross}gcc" --version | head -n 1; } | sha256sum | cut -c1-16)

mkdir -p "$cache"
final="$cache/$hash"
lock="$cache/$hash.lock"

# One builder per hash at a time; the others wait and then find the cached result.
exec 9>"$lock"
flock 9

if [ ! -f "$final/$out_image" ]; then
	srcdir="$cache/src-$(printf %s "$srcver" | tr -c 'A-Za-z0-9.+~-' _ | cut -c1-64)"
	if [ ! -f "$srcdir/.vmctr-extracted" ]; then
		# Extraction is shared by all hashes of one source version; it has its own lock.
		exec 8>"$srcdir.lock"
		flock 8
		if [ ! -f "$srcdir/.vmctr-extracted" ]; then
			echo "build-kernel.sh: extracting $source_tar" >&2
			rm -rf "$srcdir.tmp"
			mkdir -p "$srcdir.tmp"
			tar -xf "$source_tar" -C "$srcdir.tmp" --strip-components=1 || { rm -rf "$srcdir.tmp"; die "could not extract $source_tar"; }
			touch "$srcdir.tmp/.vmctr-extracted"
			rm -rf "$srcdir"
			mv "$srcdir.tmp" "$srcdir"
		fi
		exec 8>&-
	fi

	build="$cache/build-$hash.tmp"
	rm -rf "$build"
	mkdir -p "$build"
	trap 'rm -rf "$build"' EXIT INT TERM HUP
	log="$build/build.log"
	mk() { make -C "$srcdir" O="$build" ARCH="$karch" ${cross:+CROSS_COMPILE="$cross"} "$@"; }

	echo "build-kernel.sh: configuring in $build" >&2
	mk tinyconfig >"$log" 2>&1 || { tail -n 30 "$log" >&2; die "make tinyconfig failed (log above)"; }
	(cd "$build" && "$srcdir/scripts/kconfig/merge_config.sh" -m -O "$build" "$build/.config" "$fragment") >>"$log" 2>&1 ||
		{ tail -n 30 "$log" >&2; die "merge_config.sh failed (log above)"; }
	mk olddefconfig >>"$log" 2>&1 || { tail -n 30 "$log" >&2; die "make olddefconfig failed (log above)"; }

	# Kconfig silently drops options whose dependencies are unmet: check every one.
	missing=""
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*)
			grep -qxF "$line" "$build/.config" || missing="$missing
  want '$line', got '$(grep -E "^(# )?${line%%=*}[= ]" "$build/.config" || echo absent)'"
			;;
		"# CONFIG_"*" is not set")
			opt=${line#"# "}; opt=${opt%% *}
			if grep -q "^$opt=" "$build/.config"; then
				missing="$missing
  want '$line', got '$(grep "^$opt=" "$build/.config")'"
			fi
			;;
		esac
	done < "$fragment"
	[ -z "$missing" ] || die "these options of $fragment did not take effect (unmet dependency?):$missing"

	echo "build-kernel.sh: building the $arch $target with $jobs jobs (a few minutes)" >&2
	mk -j"$jobs" "$target" >>"$log" 2>&1 || { tail -n 40 "$log" >&2; die "kernel build failed (log above, full log in $log)"; }

	stage="$final.tmp"
	rm -rf "$stage"
	mkdir -p "$stage"
	cp "$build/$image" "$stage/$out_image"
	cp "$build/.config" "$stage/$out_config"
	[ ! -f "$build/vmlinux" ] || cp "$build/vmlinux" "$stage/vmlinux"
	printf '%s\n' "$hash" > "$stage/hash"
	rm -rf "$final"
	mv "$stage" "$final"
	rm -rf "$build"
	trap - EXIT INT TERM HUP
	echo "build-kernel.sh: cached in $final" >&2
fi

# Publish into DIR atomically: copy to a temporary name in DIR, then rename.
mkdir -p "$out"
for f in "$out_image" "$out_config"; do
	tmp="$out/.$f.tmp.$$"
	cp "$final/$f" "$tmp"
	mv -f "$tmp" "$out/$f"
done
echo "$out/$out_image"
