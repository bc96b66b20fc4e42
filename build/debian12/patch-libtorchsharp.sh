#!/usr/bin/env bash
# Lets TorchSharp 0.107's libLibTorchSharp.so load on a system whose libstdc++ stops before GLIBCXX_3.4.32
# (Debian 12, Ubuntu 22.04). See docs/torchsharp-on-debian.md for the cause.
#
#   patch-libtorchsharp.sh [--always] DIR    DIR holds libLibTorchSharp.so directly (self-contained or RID-specific
#                                 publish) or under runtimes/linux-x64/native (framework-dependent build or test output);
#                                 --always patches even where this system's libstdc++ has the version (tool packages)
#
# The library needs GLIBCXX_3.4.32 for exactly one symbol, std::ios_base_library_init(). The fix, applied in place:
#   1. clear that symbol's version (patchelf --clear-symbol-version),
#   2. mark the GLIBCXX_3.4.32 requirement weak (weaken_version.py), so the loader no longer refuses it,
#   3. add a tiny library that defines the symbol (ios_base_library_init.c) as NEEDED, beside it ($ORIGIN is
#      already in the library's RUNPATH).
# Does nothing where the system libstdc++ has GLIBCXX_3.4.32, or where the library has no such requirement
# (another TorchSharp version). Fails, naming the cause, if a tool is missing or the result still does not load.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
always=false
if [[ "${1:-}" == "--always" ]]; then
  always=true  # patch even where this system's libstdc++ would not need it (a tool package for other machines)
  shift
fi
dir="${1:?usage: patch-libtorchsharp.sh [--always] DIR}"
symbol=_ZSt21ios_base_library_initv
version=GLIBCXX_3.4.32
shim=libios_base_library_init.so

lib="$dir/libLibTorchSharp.so"
[[ -f "$lib" ]] || lib="$dir/runtimes/linux-x64/native/libLibTorchSharp.so"
[[ -f "$lib" ]] || exit 0
native="$(dirname "$lib")"

fail() { echo "patch-libtorchsharp.sh: error: $*" >&2; exit 1; }

libstdcxx="$(/sbin/ldconfig -p 2>/dev/null | awk '/libstdc\+\+\.so\.6 .*x86-64/ { print $NF; exit }')"
if [[ $always == false && -n "$libstdcxx" ]] && grep -q "$version" "$libstdcxx"; then
  exit 0  # this system's libstdc++ defines the version: nothing to fix
fi

for tool in patchelf cc python3; do
  command -v "$tool" >/dev/null || fail "$tool is needed to make $lib loadable on this system (apt-get install patchelf gcc python3)"
done

if patchelf --print-needed "$lib" | grep -qx "$shim" && [[ -f "$native/$shim" ]]; then
  exit 0  # already patched (an incremental build that did not copy the library again)
fi
if ! readelf -V "$lib" 2>/dev/null | grep -q "Name: $version"; then
  exit 0  # a TorchSharp build that does not need the fix
fi

cc -shared -fPIC -O2 -o "$native/$shim.tmp" "$here/ios_base_library_init.c"
mv -f "$native/$shim.tmp" "$native/$shim"
tmp="$lib.patching"
cp "$lib" "$tmp"
patchelf --clear-symbol-version "$symbol" "$tmp"
python3 "$here/weaken_version.py" "$tmp" "$version" >/dev/null
patchelf --add-needed "$shim" "$tmp"
mv -f "$tmp" "$lib"

# The proof: load it (and libtorch, which it needs) with every symbol bound now, as TorchSharp will.
if ! out="$(python3 -c 'import ctypes, sys; ctypes.CDLL(sys.argv[1], mode=ctypes.RTLD_GLOBAL)' "$lib" 2>&1)"; then
  fail "$lib still does not load after the GLIBCXX fix: $out"
fi
echo "patch-libtorchsharp.sh: $lib now loads with this system's libstdc++ ($version fix applied)"
