#!/bin/sh
# Fetches Debian's stock cloud kernel for libvmctr guests, with the modules it needs for
# virtio-mmio devices (the cloud kernel builds those as modules).
#
#   kernel/fetch-debian-kernel.sh [--out DIR] [--deb FILE]
#
# Writes DIR/debian/vmlinuz, DIR/debian/modules/*.ko (uncompressed) and
# DIR/debian/modules/load-order: the module file names, dependencies first, one a line.
# vmctr-init loads /lib/modules/vmctr/<name> in that order. Default DIR: kernel/out.
# --deb uses a local linux-image-*-cloud-amd64 .deb instead of `apt-get download`.
# Downloaded packages are kept in ${VMCTR_KERNEL_CACHE:-~/.cache/libvmctr/kernel}/debian.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out="$here/out"
deb=""
cache=${VMCTR_KERNEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/libvmctr/kernel}

# The modules a guest needs, by module name; their dependencies are added.
wanted="virtio_mmio virtio_blk virtio_net virtio_console virtio_rng virtiofs fuse vsock
vmw_vsock_virtio_transport vmw_vsock_virtio_transport_common overlay ext4"

usage() { sed -n '2,11s/^# \{0,1\}//p' "$0"; }
die() { echo "fetch-debian-kernel.sh: $*" >&2; exit 1; }

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
for tool in dpkg-deb python3 flock; do
	command -v "$tool" >/dev/null 2>&1 || die "'$tool' is needed"
done

mkdir -p "$out"
out=$(cd "$out" && pwd)
exec 9>"$out/.debian.lock"
flock 9

tmp=$(mktemp -d "$out/.debian.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM HUP

if [ -z "$deb" ]; then
	command -v apt-get >/dev/null 2>&1 || die "no apt-get: pass --deb with a linux-image-*-cloud-amd64 package"
	# The metapackage names the current versioned image package.
	pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9].*-cloud-amd64\)$/\1/p' | head -n 1)
	[ -n "$pkg" ] || die "apt does not know linux-image-cloud-amd64: run apt-get update (Debian bookworm main)"
	ver=$(apt-cache policy "$pkg" | sed -n 's/^ *Candidate: //p')
	mkdir -p "$cache/debian"
	deb="$cache/debian/${pkg}_$(printf %s "$ver" | tr ':' _).deb"
	if [ ! -s "$deb" ]; then
		echo "fetch-debian-kernel.sh: downloading $pkg $ver" >&2
		(cd "$tmp" && apt-get download "$pkg=$ver" >&2) || die "apt-get download $pkg failed"
		mv "$tmp"/*.deb "$deb.part" && mv "$deb.part" "$deb"
	fi
fi
[ -r "$deb" ] || die "cannot read $deb"
dpkg-deb -x "$deb" "$tmp/root" || die "$deb: cannot unpack"

set -- "$tmp"/root/boot/vmlinuz-*
[ $# -eq 1 ] && [ -f "$1" ] || die "$deb: expected exactly one /boot/vmlinuz-*"
kver=${1##*/vmlinuz-}
moddir="$tmp/root/lib/modules/$kver"
[ -d "$moddir" ] || die "$deb: no /lib/modules/$kver"
mkdir -p "$tmp/debian/modules"
cp "$1" "$tmp/debian/vmlinuz"

# Resolve dependencies from each module's modinfo "depends=" (what depmod turns into
# modules.dep; the package ships no modules.dep and depmod may be absent), order them
# dependencies first, and copy them out decompressed.
python3 - "$moddir" "$tmp/debian/modules" $wanted <<'EOF' || die "resolving modules failed"
import lzma, gzip, os, shutil, subprocess, sys

moddir, dest, wanted = sys.argv[1], sys.argv[2], sys.argv[3:]
exts = (".ko", ".ko.xz", ".ko.zst", ".ko.gz")
def modname(fn):
    for e in exts:
        if fn.endswith(e):
            return fn[: -len(e)].replace("-", "_")
files = {}
for root, _, names in os.walk(os.path.join(moddir, "kernel")):
    for n in names:
        m = modname(n)
        if m:
            files[m] = os.path.join(root, n)
builtin = set()
bpath = os.path.join(moddir, "modules.builtin")
if os.path.exists(bpath):
    for line in open(bpath):
        builtin.add(modname(os.path.basename(line.strip())))

def read(path):
    if path.endswith(".xz"):
        return lzma.open(path).read()
    if path.endswith(".gz"):
        return gzip.open(path).read()
    if path.endswith(".zst"):
        return subprocess.run(["zstd", "-dc", path], check=True, stdout=subprocess.PIPE).stdout
    return open(path, "rb").read()

def depends(data):
    # .modinfo strings are NUL-separated key=value pairs.
    i = data.find(b"\0depends=")
    if i < 0:
        i = data.find(b"depends=") - 1
        if i < -1:
            return []
    v = data[i + 9 : data.index(b"\0", i + 9)].decode()
    return [d.replace("-", "_") for d in v.split(",") if d]

order, state, blobs = [], {}, {}
def visit(m, chain):
    if m in builtin and m not in files:
        return
    if m not in files:
        sys.exit("module %s (needed by %s) is neither built in nor in %s" % (m, " <- ".join(chain) or "libvmctr", moddir))
    if state.get(m) == "done":
        return
    if state.get(m) == "active":
        sys.exit("dependency cycle through " + m)
    state[m] = "active"
    blobs[m] = read(files[m])
    for d in depends(blobs[m]):
        visit(d, [m] + chain)
    state[m] = "done"
    order.append(m)

for m in wanted:
    visit(m, [])
with open(os.path.join(dest, "load-order"), "w") as lo:
    for m in order:
        name = os.path.basename(files[m])
        name = name[: name.index(".ko")] + ".ko"
        with open(os.path.join(dest, name), "wb") as f:
            f.write(blobs[m])
        lo.write(name + "\n")
print("fetch-debian-kernel.sh: %d modules for %s" % (len(order), os.path.basename(moddir)), file=sys.stderr)
EOF

printf '%s\n' "$kver" > "$tmp/debian/version"
rm -rf "$out/debian.old"
[ ! -e "$out/debian" ] || mv "$out/debian" "$out/debian.old"
mv "$tmp/debian" "$out/debian"
rm -rf "$out/debian.old"
echo "$out/debian/vmlinuz"
