#!/bin/sh
# Builds libvmctr's tailored guest kernel: Debian's linux-source-6.1, `make tinyconfig`,
# plus kernel/vmctr.config, everything built in. The result is cached by a hash of the
# fragment, this script and the source package version, so a rebuild is free.
#
#   kernel/build-kernel.sh [--out DIR] [--jobs N]
#
# Writes DIR/bzImage and DIR/config (default DIR: kernel/out next to this script).
# Environment: VMCTR_KERNEL_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/libvmctr/kernel),
# VMCTR_KERNEL_SOURCE (default /usr/src/linux-source-6.1.tar.xz).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out="$here/out"
jobs=$(nproc 2>/dev/null || echo 2)
fragment="$here/vmctr.config"
source_tar=${VMCTR_KERNEL_SOURCE:-/usr/src/linux-source-6.1.tar.xz}
cache=${VMCTR_KERNEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/libvmctr/kernel}

usage() {
	sed -n '2,10s/^# \{0,1\}//p' "$0"
}

die() {
	echo "build-kernel.sh: $*" >&2
	exit 1
}

while [ $# -gt 0 ]; do
	case "$1" in
	--out) [ $# -ge 2 ] || die "--out needs a directory"; out=$2; shift 2 ;;
	--out=*) out=${1#--out=}; shift ;;
	--jobs) [ $# -ge 2 ] || die "--jobs needs a number"; jobs=$2; shift 2 ;;
	--jobs=*) jobs=${1#--jobs=}; shift ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument '$1'" ;;
	esac
done
case "$jobs" in ''|*[!0-9]*) die "--jobs wants a positive number, not '$jobs'" ;; esac

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
hash=$( { cat "$fragment" "$0"; printf 'source %s\n' "$srcver"; } | sha256sum | cut -c1-16)

mkdir -p "$cache"
final="$cache/$hash"
lock="$cache/$hash.lock"

# One builder per hash at a time; the others wait and then find the cached result.
exec 9>"$lock"
flock 9

if [ ! -f "$final/bzImage" ]; then
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
	mk() { make -C "$srcdir" O="$build" ARCH=x86_64 "$@"; }

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

	echo "build-kernel.sh: building bzImage with $jobs jobs (a few minutes)" >&2
	mk -j"$jobs" bzImage >>"$log" 2>&1 || { tail -n 40 "$log" >&2; die "kernel build failed (log above, full log in $log)"; }

	stage="$final.tmp"
	rm -rf "$stage"
	mkdir -p "$stage"
	cp "$build/arch/x86/boot/bzImage" "$stage/bzImage"
	cp "$build/.config" "$stage/config"
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
for f in bzImage config; do
	tmp="$out/.$f.tmp.$$"
	cp "$final/$f" "$tmp"
	mv -f "$tmp" "$out/$f"
done
echo "$out/bzImage"
