#!/bin/sh
# Fetches Debian's static busybox for arm64, the one binary of the aarch64 test image
# (tests/arm64): `apt-get download busybox-static:arm64`, then `dpkg-deb -x`.
#
#   kernel/fetch-arm64-busybox.sh [--out DIR] [--deb FILE]
#
# Writes DIR/arm64/busybox (default DIR: kernel/out). apt must know the arm64 architecture
# (`dpkg --add-architecture arm64; apt-get update`); --deb uses a local busybox-static
# arm64 .deb instead. Downloaded packages are kept in
# ${VMCTR_KERNEL_CACHE:-~/.cache/libvmctr/kernel}/debian-arm64.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out="$here/out"
deb=""
cache=${VMCTR_KERNEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/libvmctr/kernel}

usage() { sed -n '2,10s/^# \{0,1\}//p' "$0"; }
die() { echo "fetch-arm64-busybox.sh: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
	case "$1" in
	--out) [ $# -ge 2 ] || die "--out needs a directory"; out=$2; shift 2 ;;
	--out=*) out=${1#--out=}; shift ;;
	--deb) [ $# -ge 2 ] || die "--deb needs a file"; deb=$2; shift 2 ;;
	--deb=*) deb=${1#--deb=}; shift ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument '$1'" ;;
	esac
done
for tool in dpkg-deb flock; do
	command -v "$tool" >/dev/null 2>&1 || die "'$tool' is needed"
done

mkdir -p "$out"
out=$(cd "$out" && pwd)
exec 9>"$out/.arm64.lock"
flock 9
tmp=$(mktemp -d "$out/.arm64.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM HUP

if [ -z "$deb" ]; then
	command -v apt-get >/dev/null 2>&1 || die "no apt-get: pass --deb with a busybox-static arm64 package"
	ver=$(apt-cache policy busybox-static:arm64 2>/dev/null | sed -n 's/^ *Candidate: //p')
	[ -n "$ver" ] && [ "$ver" != "(none)" ] ||
		die "apt does not know busybox-static:arm64: run dpkg --add-architecture arm64 and apt-get update"
	mkdir -p "$cache/debian-arm64"
	deb="$cache/debian-arm64/busybox-static_$(printf %s "$ver" | tr ':' _)_arm64.deb"
	if [ ! -s "$deb" ]; then
		echo "fetch-arm64-busybox.sh: downloading busybox-static:arm64 $ver" >&2
		(cd "$tmp" && apt-get download "busybox-static:arm64=$ver" >&2) ||
			die "apt-get download busybox-static:arm64 failed"
		mv "$tmp"/*.deb "$deb.part" && mv "$deb.part" "$deb"
	fi
fi
[ -r "$deb" ] || die "cannot read $deb"
[ "$(dpkg-deb -f "$deb" Architecture)" = arm64 ] || die "$deb is not an arm64 package"
dpkg-deb -x "$deb" "$tmp/root" || die "$deb: cannot unpack"
[ -f "$tmp/root/bin/busybox" ] || die "$deb: no /bin/busybox"
mkdir -p "$out/arm64"
cp "$tmp/root/bin/busybox" "$out/arm64/.busybox.tmp.$$"
chmod 0755 "$out/arm64/.busybox.tmp.$$"
mv -f "$out/arm64/.busybox.tmp.$$" "$out/arm64/busybox"
echo "$out/arm64/busybox"
