#!/bin/sh
# Integration test: boots each guest kernel present in kernel/out under QEMU TCG with an
# initfs from vmctr__initfs_get (tests/initfs/boot-init.c as /init, plus the Debian
# modules for the Debian kernel), and checks what the guest reports: modules loaded in
# load-order, a virtio-blk disk on virtio-mmio, the filesystems, the console. TAP output.
#   boot-test.sh SRCDIR MKINITFS BOOT_INIT
set -u
src=$1 mkinitfs=$2 init=$3
tmp=$(mktemp -d /tmp/vmctr-initfs-boot.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM HUP
echo "1..2"
if ! command -v qemu-system-x86_64 >/dev/null; then
	echo "ok 1 # SKIP qemu-system-x86_64 not installed"
	echo "ok 2 # SKIP qemu-system-x86_64 not installed"
	exit 0
fi
truncate -s 1M "$tmp/disk.raw"
n=0
# The host's TSC rate, as the library passes it under TCG (see lib/vmm).
mhz=$(awk -F: '/^cpu MHz/ { print $2; exit }' /proc/cpuinfo)
tsc=${mhz:+tsc_early_khz=$(awk -v m="$mhz" 'BEGIN { printf "%d", m * 1000 }')}
for kind in tailored debian; do
	n=$((n + 1))
	case $kind in
	tailored) kernel=$src/kernel/out/bzImage mods=- want_mods=0 acpi=off ;;
	debian) kernel=$src/kernel/out/debian/vmlinuz mods=$src/kernel/out/debian/modules acpi=on
		# Debian's virtio_mmio lacks VIRTIO_MMIO_CMDLINE_DEVICES: it finds devices through ACPI.
		want_mods=$(grep -c . "$mods/load-order" 2>/dev/null) ;;
	esac
	if [ ! -r "$kernel" ]; then
		echo "ok $n - $kind # SKIP no $kernel (kernel/build-kernel.sh, kernel/fetch-debian-kernel.sh)"
		continue
	fi
	initfs=$("$mkinitfs" "$init" "$mods" "$tmp/cache") || { echo "not ok $n - $kind: mkinitfs failed"; continue; }
	timeout 180 qemu-system-x86_64 -M microvm,acpi=$acpi -accel tcg -m 256 -smp 1 \
		-nodefaults -no-user-config -nographic -no-reboot -serial stdio \
		-global virtio-mmio.force-legacy=false \
		-drive id=d0,file="$tmp/disk.raw",format=raw,if=none -device virtio-blk-device,drive=d0 \
		-kernel "$kernel" -initrd "$initfs" -append "$(cat "$src/kernel/cmdline.$kind") $tsc" \
		> "$tmp/console.$kind" 2>&1 < /dev/null
	rc=$?
	want="VMCTR-TEST modules=$want_mods failed=0 virtio=1 vda=yes console=tty fs=ext4,overlay,virtiofs,tmpfs"
	if [ $rc -eq 0 ] && grep -qF "$want" "$tmp/console.$kind"; then
		echo "ok $n - $kind kernel boots the initfs: $want"
	else
		echo "not ok $n - $kind kernel (qemu rc $rc), wanted: $want"
		tail -n 25 "$tmp/console.$kind" | sed 's/^/# /'
	fi
done
