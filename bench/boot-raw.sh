#!/bin/sh
# boot-raw.sh: the raw-boot baseline. Boots a kernel with plain QEMU and an initramfs
# whose /init reboots at once, and prints the median wall time of the whole QEMU process.
# The library benchmark compares against this.
#
#   bench/boot-raw.sh [--kernel FILE] [--kind tailored|debian] [--runs N] [--accel A]
#                     [--cmdline-extra "ARGS"] [--append "ARGS"] [--acpi on|off] [--log FILE]
#                     [--memory MIB]
#
#   --kernel FILE   kernel image (default kernel/out/bzImage, or kernel/out/debian/vmlinuz
#                   with --kind debian)
#   --kind K        tailored (default): -M microvm,acpi=off, kernel/cmdline.tailored;
#                   debian: Debian's cloud kernel, kernel/cmdline.debian
#   --runs N        number of boots (default 5); the median is printed
#   --accel A       tcg (default) or kvm
#   --append ARGS   replace the kernel command line entirely
#   --cmdline-extra ARGS  add to the kernel command line
#   --acpi on|off   microvm's ACPI (default: off for tailored; on for debian, whose
#                   virtio_mmio finds devices only through ACPI)
#   --log FILE      keep the guest console of the last run
#   --memory MIB    guest memory (default 512, the library's default: under TCG the
#                   kernel's memory setup costs about 0.8 ms per MiB)
#
# Output: one line per run ("run I: S s") on stderr, then "median: S s" on stdout.
# The init is a tiny static program (reboot(RB_AUTOBOOT)); without a compiler it is
# busybox-static. Without ACPI the guest leaves by `reboot=t` + QEMU `-no-reboot`.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
kind=tailored
kernel=""
runs=5
accel=tcg
memory=512
append=""
extra=""
acpi=""
log=""

usage() { sed -n '2,24s/^# \{0,1\}//p' "$0"; }
die() { echo "boot-raw.sh: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || case "$1" in -h|--help) ;; *) die "$1 needs a value" ;; esac
	case "$1" in
	--kernel) kernel=$2 ;;
	--kind) kind=$2 ;;
	--runs) runs=$2 ;;
	--accel) accel=$2 ;;
	--memory) memory=$2 ;;
	--append) append=$2 ;;
	--cmdline-extra) extra=$2 ;;
	--acpi) acpi=$2 ;;
	--log) log=$2 ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument '$1'" ;;
	esac
	shift 2
done
case "$runs" in ''|*[!0-9]*|0) die "--runs wants a positive number" ;; esac
case "$kind" in
tailored) : "${kernel:=$here/kernel/out/bzImage}" "${acpi:=off}"; cmdfile="$here/kernel/cmdline.tailored" ;;
debian) : "${kernel:=$here/kernel/out/debian/vmlinuz}" "${acpi:=on}"; cmdfile="$here/kernel/cmdline.debian" ;;
*) die "--kind is tailored or debian" ;;
esac
[ -r "$kernel" ] || die "no kernel at $kernel (kernel/build-kernel.sh or kernel/fetch-debian-kernel.sh)"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 is not installed"
if [ -z "$append" ]; then
	[ -r "$cmdfile" ] || die "no $cmdfile: pass --append"
	append=$(cat "$cmdfile")
fi
append="$append${extra:+ $extra}"
# As the library does under TCG: give the kernel the host's TSC rate, so it
# neither calibrates against the PIT (which TCG's jitter can make fail, and a
# stock kernel then hangs) nor runs the delay-loop calibration.
if [ "$accel" = tcg ]; then
	mhz=$(awk -F: '/^cpu MHz/ { print $2; exit }' /proc/cpuinfo)
	[ -n "$mhz" ] && append="$append tsc_early_khz=$(awk -v m="$mhz" 'BEGIN { printf "%d", m * 1000 }')"
fi

tmp=$(mktemp -d /tmp/vmctr-boot-raw.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM HUP
mkdir -p "$tmp/root/dev"

# The init: reboot(LINUX_REBOOT_MAGIC1, MAGIC2, LINUX_REBOOT_CMD_RESTART) and nothing else.
cat > "$tmp/init.c" <<'EOF'
void _start(void) {
  long r;
  __asm__ volatile("syscall" : "=a"(r) : "a"(169L), "D"(0xfee1deadL), "S"(672274793L), "d"(0x01234567L) : "rcx", "r11", "memory");
  for (;;) __asm__ volatile("hlt");
}
EOF
if command -v cc >/dev/null && cc -static -nostdlib -Os -o "$tmp/root/init" "$tmp/init.c" 2>/dev/null; then
	:
elif [ -x /bin/busybox ] && file -L /bin/busybox 2>/dev/null | grep -q static; then
	mkdir -p "$tmp/root/bin"
	cp /bin/busybox "$tmp/root/bin/busybox"
	printf '#!/bin/busybox sh\n/bin/busybox reboot -f\n' > "$tmp/root/init"
	chmod 755 "$tmp/root/init"
else
	die "need a C compiler or busybox-static for the tiny init"
fi
command -v cpio >/dev/null || die "cpio is needed to pack the initramfs"
(cd "$tmp/root" && find . | cpio -o -H newc --quiet | gzip -9 > "$tmp/initrd.gz")

machine="microvm,acpi=$acpi"
set -- -M "$machine" -accel "$accel" -m "$memory" -smp 1 -nodefaults -no-user-config \
	-nographic -no-reboot -serial stdio \
	-global virtio-mmio.force-legacy=false \
	-kernel "$kernel" -initrd "$tmp/initrd.gz" -append "$append"

times=""
i=1
while [ "$i" -le "$runs" ]; do
	t0=$(date +%s%N)
	timeout 120 qemu-system-x86_64 "$@" > "$tmp/console" 2>&1 < /dev/null || die "run $i: QEMU failed or timed out; console: $(tail -c 2000 "$tmp/console")"
	t1=$(date +%s%N)
	grep -q -E 'Kernel panic|Attempted to kill init' "$tmp/console" && die "run $i: guest panicked: $(tail -c 2000 "$tmp/console")"
	t=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
	echo "run $i: $t s" >&2
	times="$times $t"
	i=$((i + 1))
done
[ -z "$log" ] || cp "$tmp/console" "$log"
printf '%s\n' $times | sort -n | awk '{ v[NR] = $1 } END { printf "median: %.3f s\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
