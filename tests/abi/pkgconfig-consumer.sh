#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Install the build into a scratch DESTDIR and build a program against it with
# pkg-config alone, as a distribution user would (TAP output).
#
# usage: pkgconfig-consumer.sh BUILDROOT CONSUMER_C
#
# Checks: libvmctr.pc is installed; the public headers are installed; the
# library is installed as libvmctr.so.X.Y.Z with its SONAME symlink and the
# libvmctr.so development link; the consumer compiles with
# `pkg-config --cflags`, links with `pkg-config --libs`, loads the installed
# library (not the build tree's), runs, and prints a version equal to the .pc
# Version.
set -u

if [ $# -ne 2 ]; then
  echo "usage: $0 BUILDROOT CONSUMER_C" >&2
  exit 2
fi
buildroot=$(cd "$1" && pwd)
consumer_c=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
srcroot=$(cd "$(dirname "$consumer_c")/../.." && pwd)
cc=${CC:-cc}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmctr-pc-consumer.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

n=0
failed=0
ok() { # ok CONDITION-STATUS DESCRIPTION [DIAGNOSTIC-FILE]
  n=$((n + 1))
  if [ "$1" -eq 0 ]; then
    echo "ok $n - $2"
  else
    failed=$((failed + 1))
    echo "not ok $n - $2"
    if [ -n "${3:-}" ] && [ -s "$3" ]; then sed 's/^/# /' "$3"; fi
  fi
}
skip() { # skip DESCRIPTION REASON
  n=$((n + 1))
  echo "ok $n - $1 # SKIP $2"
}
finish() {
  echo "1..$n"
  [ "$failed" -eq 0 ]
  exit $?
}

log=$tmp/log
dest=$tmp/root

meson install -C "$buildroot" --no-rebuild --destdir "$dest" --quiet >"$log" 2>&1
ok $? "meson install into a scratch DESTDIR" "$log"

pc=$(find "$dest" -name libvmctr.pc -path '*/pkgconfig/*' -print -quit 2>/dev/null)
if [ -n "$pc" ]; then ok 0 "libvmctr.pc is installed (${pc#"$dest"})"; else
  ok 1 "libvmctr.pc is installed"; finish; fi
pcdir=$(dirname "$pc")

# Headers: everything the source tree declares public, plus the generated one.
incdir=$(find "$dest" -name vmctr.h -path '*/include/vmctr.h' -print -quit 2>/dev/null)
incdir=${incdir%/vmctr.h}
: >"$log"
if [ -z "$incdir" ]; then
  echo "vmctr.h is not installed" >"$log"
else
  for h in "$srcroot"/include/vmctr.h "$srcroot"/include/vmctr/*.h; do
    rel=${h#"$srcroot"/include/}
    [ -f "$incdir/$rel" ] || echo "missing: $rel" >>"$log"
  done
  [ -f "$incdir/vmctr/version.h" ] || echo "missing: vmctr/version.h (generated)" >>"$log"
  for h in "$incdir"/vmctr/*; do
    case $h in *.in|*/meson.build) echo "installed by mistake: ${h#"$incdir"/}" >>"$log" ;; esac
  done
fi
[ ! -s "$log" ]
ok $? "the public headers are installed (vmctr.h, vmctr/version.h, vmctr/*.h)" "$log"

# The library: the real file, the SONAME link and the development link.
real=$(find "$dest" -type f -name 'libvmctr.so.*.*.*' -print -quit 2>/dev/null)
: >"$log"
libdir=
if [ -z "$real" ]; then
  echo "no libvmctr.so.X.Y.Z installed; found:" >"$log"
  find "$dest" -name 'libvmctr*' >>"$log"
else
  libdir=$(dirname "$real")
  soname=$(readelf -d "$real" 2>>"$log" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
  if [ -z "$soname" ]; then
    echo "$(basename "$real") has no SONAME" >>"$log"
  elif [ ! -L "$libdir/$soname" ] || [ "$(readlink -f "$libdir/$soname")" != "$(readlink -f "$real")" ]; then
    echo "$soname is not a symlink to $(basename "$real")" >>"$log"
  fi
  if [ ! -L "$libdir/libvmctr.so" ] || [ "$(readlink -f "$libdir/libvmctr.so")" != "$(readlink -f "$real")" ]; then
    echo "libvmctr.so (the development link) is missing or points elsewhere" >>"$log"
  fi
fi
[ ! -s "$log" ]
ok $? "the library is installed as ${real:+$(basename "$real")} with its SONAME and development links" "$log"

export PKG_CONFIG_PATH="$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export PKG_CONFIG_SYSROOT_DIR="$dest"

pc_version=$(pkg-config --modversion libvmctr 2>"$log")
[ -n "$pc_version" ]
ok $? "pkg-config finds libvmctr (Version: $pc_version)" "$log"
cflags=$(pkg-config --cflags libvmctr 2>>"$log"); cflags=${cflags%% }
libs=$(pkg-config --libs libvmctr 2>>"$log"); libs=${libs%% }

# A sanitized build needs the consumer sanitized too: the runtime must load first.
san=()
if [ -n "$real" ]; then
  needed=$(readelf -d "$real" 2>/dev/null)
  case $needed in *libasan*) san+=(-fsanitize=address) ;; esac
  case $needed in *libubsan*) san+=(-fsanitize=undefined) ;; esac
fi

# shellcheck disable=SC2086 # pkg-config output is meant to be split
"$cc" -std=c99 -Wall -Wextra -pedantic -Werror "${san[@]}" $cflags \
  -c "$consumer_c" -o "$tmp/consumer.o" >"$log" 2>&1
ok $? "the consumer compiles with \`pkg-config --cflags libvmctr\` ($cflags)" "$log"

if [ -f "$tmp/consumer.o" ]; then
  # shellcheck disable=SC2086
  "$cc" "${san[@]}" "$tmp/consumer.o" -o "$tmp/consumer" $libs >"$log" 2>&1
  ok $? "the consumer links with \`pkg-config --libs libvmctr\` ($libs)" "$log"
else
  skip "the consumer links with pkg-config --libs" "it did not compile"
fi

if [ -x "$tmp/consumer" ] && [ -n "$libdir" ]; then
  export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  loaded=$(LD_TRACE_LOADED_OBJECTS=1 "$tmp/consumer" 2>"$log" | sed -n 's/^\s*libvmctr\.so[^ ]* => \([^ ]*\).*/\1/p')
  case $loaded in
    "$dest"/*) ok 0 "the consumer loads the installed library (${loaded#"$dest"})" ;;
    *) echo "libvmctr resolved to: ${loaded:-nothing}" >>"$log"
       ok 1 "the consumer loads the installed library" "$log" ;;
  esac

  "$tmp/consumer" >"$tmp/out" 2>"$log"
  rc=$?
  cat "$tmp/out" >>"$log"
  ok $rc "the consumer runs and exits 0" "$log"

  run_version=$(head -n 1 "$tmp/out")
  echo "consumer printed '$run_version', libvmctr.pc says '$pc_version'" >"$log"
  [ -n "$run_version" ] && [ "$run_version" = "$pc_version" ]
  ok $? "the run-time version equals the .pc Version ($pc_version)" "$log"
else
  skip "the consumer loads the installed library" "there is no consumer to run"
  skip "the consumer runs and exits 0" "there is no consumer to run"
  skip "the run-time version equals the .pc Version" "there is no consumer to run"
fi

finish
