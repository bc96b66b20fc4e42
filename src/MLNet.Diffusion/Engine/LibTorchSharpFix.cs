using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace MLNet.Diffusion.Engine;

/// <summary>
/// Makes TorchSharp 0.107.0's <c>libLibTorchSharp.so</c> loadable on a system whose libstdc++ lacks
/// <c>GLIBCXX_3.4.32</c> (Debian 12, Ubuntu 22.04), decided when and where the app runs, before the first TorchSharp
/// call (docs/torchsharp-on-debian.md). It does nothing unless all of these hold: Linux x64; the running system's
/// libstdc++ does not define <c>std::ios_base_library_init()</c> at that version (asked with <c>dlvsym</c>); the app
/// has a <c>libLibTorchSharp.so</c> that still requires the version strongly; and that file is byte for byte the one
/// TorchSharp 0.107.0 ships (<see cref="TorchSharp0107Sha256"/>). Then it makes the two edits the build-time script
/// makes with patchelf (the symbol's version cleared, the requirement marked weak) on a copy that is renamed over the
/// file, and loads the library that defines the symbol (<c>libios_base_library_init.so</c>, shipped beside it by the
/// package) into the global scope, where the loader finds it when TorchSharp loads its library.
/// </summary>
/// <remarks>Set <c>MLNET_DIFFUSION_NATIVE_FIX=0</c> to turn it off. A file it cannot write is reported once on
/// standard error with what to do; nothing is thrown from here.</remarks>
public static partial class LibTorchSharpFix
{
    /// <summary>SHA-256 of TorchSharp 0.107.0's linux-x64 <c>libLibTorchSharp.so</c>, the only file this edits.</summary>
    public const string TorchSharp0107Sha256 = "cf33b1b0bb6bbb9754a768fb5c5d04d9f498603be50e73f55621a0b40ee608b8";

    /// <summary>The library whose version requirement is missing on older systems.</summary>
    public const string Version = "GLIBCXX_3.4.32";

    /// <summary>The one symbol TorchSharp's library needs at that version (<c>std::ios_base_library_init()</c>).</summary>
    public const string Symbol = "_ZSt21ios_base_library_initv";

    /// <summary>The library that defines <see cref="Symbol"/> with an empty body (build/debian12/ios_base_library_init.c).</summary>
    public const string ShimName = "libios_base_library_init.so";

    private const ushort VersionFlagWeak = 0x2;
    private const ushort VersionIndexGlobal = 1;
    private const uint SectionDynamicSymbols = 11;
    private const uint SectionVersionSymbols = 0x6fffffff;
    private const uint SectionVersionNeeded = 0x6ffffffe;
    private const int RtldNow = 0x2;
    private const int RtldGlobal = 0x100;

    private static readonly object s_gate = new();
    private static string? s_outcome;

    /// <summary>What the last <see cref="Apply"/> did, in words (for diagnostics and tests).</summary>
    public static string? Outcome => s_outcome;

    /// <summary>Applies the fix once per process where it is needed (see the class remarks). Never throws.</summary>
    public static void Apply()
    {
        lock (s_gate)
        {
            if (s_outcome is not null)
            {
                return;
            }

            try
            {
                s_outcome = ApplyCore();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException or DllNotFoundException or EntryPointNotFoundException
                or ArgumentException or IndexOutOfRangeException or OverflowException or InvalidOperationException)
            {
                s_outcome = $"failed: {ex.Message}";
                Console.Error.WriteLine($"MLNet.Diffusion: TorchSharp's native library needs {Version}, which this system's libstdc++ lacks, and the fix " +
                    $"could not be applied ({ex.Message}). Make the app folder writable for one run, or run build/debian12/patch-libtorchsharp.sh on it " +
                    "(docs/torchsharp-on-debian.md).");
            }
        }
    }

    private static string ApplyCore()
    {
        if (Environment.GetEnvironmentVariable("MLNET_DIFFUSION_NATIVE_FIX") == "0")
        {
            return "off (MLNET_DIFFUSION_NATIVE_FIX=0)";
        }

        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
        {
            return "not needed: not linux-x64";
        }

        var library = new[] { Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so"), Path.Combine(AppContext.BaseDirectory, "libLibTorchSharp.so") }
            .FirstOrDefault(File.Exists);
        if (library is null)
        {
            return "not needed: no libLibTorchSharp.so in the app";
        }

        if (SystemHasVersion())
        {
            return $"not needed: this system's libstdc++ defines {Version}";
        }

        var bytes = File.ReadAllBytes(library);
        var state = Inspect(bytes);
        if (state == Requirement.None)
        {
            return $"not needed: {library} does not require {Version}";
        }

        var shim = Path.Combine(Path.GetDirectoryName(library)!, ShimName);
        if (state == Requirement.Strong)
        {
            if (!string.Equals(Convert.ToHexStringLower(SHA256.HashData(bytes)), TorchSharp0107Sha256, StringComparison.Ordinal))
            {
                return $"left alone: {library} requires {Version} but is not TorchSharp 0.107.0's file";
            }

            if (!File.Exists(shim))
            {
                throw new FileNotFoundException($"{ShimName} is missing beside {library}");
            }

            Patch(bytes);
            var temporary = $"{library}.{Environment.ProcessId}.patching";
            File.WriteAllBytes(temporary, bytes);
            File.Move(temporary, library, overwrite: true);
        }

        if (File.Exists(shim) && DlOpen(shim, RtldNow | RtldGlobal) == 0)
        {
            throw new DllNotFoundException($"{shim} did not load");
        }

        return state == Requirement.Strong ? $"applied to {library}" : $"already applied to {library}";
    }

    /// <summary>How a library requires <see cref="Version"/>.</summary>
    internal enum Requirement
    {
        None,
        Strong,
        Weak,
    }

    /// <summary>Whether (and how) the ELF image requires <see cref="Version"/>.</summary>
    internal static Requirement Inspect(byte[] elf)
    {
        var image = new Elf(elf);
        return image.FindNeededVersion(Version) is { } aux
            ? (BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(aux.Offset + 4)) & VersionFlagWeak) != 0 ? Requirement.Weak : Requirement.Strong
            : Requirement.None;
    }

    /// <summary>
    /// In place: <see cref="Symbol"/>'s version index set to global (patchelf --clear-symbol-version), and the
    /// <see cref="Version"/> requirement marked VER_FLG_WEAK (ELF gABI, "Symbol Versioning"). Refuses an image in which
    /// another symbol also needs that version.
    /// </summary>
    internal static void Patch(byte[] elf)
    {
        var image = new Elf(elf);
        var aux = image.FindNeededVersion(Version) ?? throw new InvalidDataException($"the library does not require {Version}");
        var (versymOffset, names) = image.VersionedSymbols();
        var users = names.Select((name, index) => (name, index))
            .Where(s => BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(versymOffset + (2 * s.index))) == aux.Index).ToList();
        if (users.Count != 1 || users[0].name != Symbol)
        {
            throw new InvalidDataException($"{Version} is needed by {string.Join(", ", users.Select(u => u.name))}, not by {Symbol} alone");
        }

        BinaryPrimitives.WriteUInt16LittleEndian(elf.AsSpan(versymOffset + (2 * users[0].index)), VersionIndexGlobal);
        var flags = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(aux.Offset + 4));
        BinaryPrimitives.WriteUInt16LittleEndian(elf.AsSpan(aux.Offset + 4), (ushort)(flags | VersionFlagWeak));
    }

    private static bool SystemHasVersion()
    {
        var handle = DlOpen("libstdc++.so.6", RtldNow);
        return handle != 0 && DlVSym(handle, Symbol, Version) != 0;
    }

    [LibraryImport("libc", EntryPoint = "dlopen", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint DlOpen(string file, int mode);

    [LibraryImport("libc", EntryPoint = "dlvsym", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint DlVSym(nint handle, string symbol, string version);

    // The few ELF64 little-endian structures the fix reads: section headers, .dynsym with its string table,
    // .gnu.version (one uint16 per dynamic symbol) and .gnu.version_r (Verneed entries, each with Vernaux entries).
    private sealed class Elf
    {
        private readonly byte[] _data;
        private readonly List<(uint Type, long Offset, long Size, uint Link, uint Info)> _sections = [];

        public Elf(byte[] data)
        {
            _data = data;
            if (data.Length < 64 || data[0] != 0x7f || data[1] != (byte)'E' || data[2] != (byte)'L' || data[3] != (byte)'F' || data[4] != 2 || data[5] != 1)
            {
                throw new InvalidDataException("not a 64-bit little-endian ELF file");
            }

            var offset = checked((long)U64(0x28));
            var size = U16(0x3A);
            var count = U16(0x3C);
            for (var i = 0; i < count; i++)
            {
                var at = checked(offset + ((long)i * size));
                _sections.Add((U32(at + 4), checked((long)U64(at + 24)), checked((long)U64(at + 32)), U32(at + 40), U32(at + 44)));
            }
        }

        public (int Offset, ushort Index)? FindNeededVersion(string version)
        {
            foreach (var section in _sections.Where(s => s.Type == SectionVersionNeeded))
            {
                var strings = _sections[(int)section.Link].Offset;
                var entry = section.Offset;
                for (var i = 0; i < section.Info; i++)
                {
                    var aux = entry + U32(entry + 8);
                    for (var j = 0; j < U16(entry + 2); j++)
                    {
                        if (Name(strings, U32(aux + 8)) == version)
                        {
                            return ((int)aux, U16(aux + 6));
                        }

                        aux += U32(aux + 12);
                    }

                    entry += U32(entry + 12);
                }
            }

            return null;
        }

        public (int VersymOffset, string[] Names) VersionedSymbols()
        {
            var symbols = _sections.Single(s => s.Type == SectionDynamicSymbols);
            var versym = _sections.Single(s => s.Type == SectionVersionSymbols);
            var strings = _sections[(int)symbols.Link].Offset;
            var names = new string[symbols.Size / 24];
            for (var i = 0; i < names.Length; i++)
            {
                names[i] = Name(strings, U32(symbols.Offset + (24L * i)));
            }

            return ((int)versym.Offset, names);
        }

        private string Name(long table, uint offset)
        {
            var start = checked((int)(table + offset));
            var end = Array.IndexOf(_data, (byte)0, start);
            return Encoding.ASCII.GetString(_data, start, end - start);
        }

        private ushort U16(long at) => BinaryPrimitives.ReadUInt16LittleEndian(_data.AsSpan(checked((int)at)));

        private uint U32(long at) => BinaryPrimitives.ReadUInt32LittleEndian(_data.AsSpan(checked((int)at)));

        private ulong U64(long at) => BinaryPrimitives.ReadUInt64LittleEndian(_data.AsSpan(checked((int)at)));
    }
}
