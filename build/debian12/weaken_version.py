#!/usr/bin/env python3
"""Marks one version requirement of an ELF64 little-endian shared library as weak (VER_FLG_WEAK).

Usage: weaken_version.py LIBRARY VERSION          e.g. weaken_version.py libLibTorchSharp.so GLIBCXX_3.4.32

glibc's loader refuses to load a library whose required symbol version (an entry of .gnu.version_r) no loaded
library defines, unless that requirement carries VER_FLG_WEAK; then it only notes it. patchelf can clear a
symbol's version but cannot mark a requirement weak, hence this script (ELF gABI, "Symbol Versioning").
Prints what it did; exits 0 when the flag is set (or was already), 1 when VERSION is not required at all.
"""
import struct
import sys

VER_FLG_WEAK = 0x2
SHT_GNU_VERNEED = 0x6FFFFFFE


def main(path: str, version: str) -> int:
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
            sys.exit(f"{path}: not a 64-bit little-endian ELF file")
        shoff, = struct.unpack_from("<Q", data, 0x28)
        shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
        sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
        for (_, sh_type, _, _, offset, _, link, info, _, _) in sections:
            if sh_type != SHT_GNU_VERNEED:
                continue
            strtab = sections[link][4]
            entry = offset
            for _ in range(info):  # sh_info is the number of Verneed entries
                _, cnt, _, aux_off, next_off = struct.unpack_from("<HHIII", data, entry)  # Elf64_Verneed
                aux = entry + aux_off
                for _ in range(cnt):
                    _, flags, _, name, aux_next = struct.unpack_from("<IHHII", data, aux)  # Elf64_Vernaux
                    end = data.index(0, strtab + name)
                    if data[strtab + name:end].decode() == version:
                        if flags & VER_FLG_WEAK:
                            print(f"{path}: {version} is already a weak requirement")
                            return 0
                        struct.pack_into("<H", data, aux + 4, flags | VER_FLG_WEAK)
                        f.seek(0)
                        f.write(data)
                        print(f"{path}: {version} is now a weak requirement")
                        return 0
                    aux += aux_next
                entry += next_off
        print(f"{path}: no requirement of {version}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
