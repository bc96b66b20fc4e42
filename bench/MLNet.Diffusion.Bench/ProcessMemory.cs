using System.Globalization;
using System.Runtime.InteropServices;

namespace MLNet.Diffusion.Bench;

/// <summary>Memory figures of this process from /proc, and glibc's malloc settings (Linux).</summary>
internal static class ProcessMemory
{
    // glibc's mallopt parameters (malloc.h).
    private const int MTrimThreshold = -1;
    private const int MMmapThreshold = -3;

    /// <summary>The mmap threshold of the steady setting: glibc's largest on 64-bit, above every tensor of the benchmarks.</summary>
    public const int SteadyMmapThreshold = 32 * 1024 * 1024;

    /// <summary>The trim threshold of the steady setting: freed heap memory is kept for reuse instead of returned.</summary>
    public const int SteadyTrimThreshold = 1024 * 1024 * 1024;

    /// <summary>
    /// Makes glibc serve tensor buffers from its heap and keep freed memory, so a step reuses the previous step's
    /// pages instead of mapping fresh ones (each first touch of a fresh page is a page fault, and on a VM those
    /// dominate a small model's step). Fixed thresholds also switch off glibc's history-dependent dynamic threshold,
    /// which otherwise makes the speed of a process depend on its allocation history. Returns false where it failed.
    /// </summary>
    public static bool TryMakeMallocSteady()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        try
        {
            return Mallopt(MMmapThreshold, SteadyMmapThreshold) == 1 && Mallopt(MTrimThreshold, SteadyTrimThreshold) == 1;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>Resident set size now (VmRSS) in KiB, or null where /proc/self/status is not available.</summary>
    public static long? CurrentRssKiB() => StatusKiB("VmRSS:");

    /// <summary>
    /// Resets the peak resident set size (VmHWM) to the current size (Linux: "5" written to /proc/self/clear_refs);
    /// false where that is not possible.
    /// </summary>
    public static bool ResetPeakRss()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Peak resident set size (VmHWM) in KiB, or null where /proc/self/status is not available.</summary>
    public static long? PeakRssKiB() => StatusKiB("VmHWM:");

    // A size field of /proc/self/status ("VmHWM:\t  123456 kB") in KiB.
    private static long? StatusKiB(string field)
    {
        const string Path = "/proc/self/status";
        if (!File.Exists(Path))
        {
            return null;
        }

        foreach (var line in File.ReadLines(Path))
        {
            if (line.StartsWith(field, StringComparison.Ordinal))
            {
                var number = line[field.Length..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
                return long.Parse(number, NumberStyles.None, CultureInfo.InvariantCulture);
            }
        }

        return null;
    }

    /// <summary>Minor page faults of this process so far (all threads), or 0 where /proc/self/stat is not available.</summary>
    public static long MinorFaults()
    {
        const string Path = "/proc/self/stat";
        if (!File.Exists(Path))
        {
            return 0;
        }

        // "pid (comm) state ppid pgrp session tty_nr tpgid flags minflt ...": minflt is the 8th field after "(comm)",
        // which may itself contain spaces, hence the split at the last ')'.
        var stat = File.ReadAllText(Path);
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[7], NumberStyles.None, CultureInfo.InvariantCulture);
    }

    // A plain DllImport: the signature is blittable, and LibraryImport would need unsafe code in this project.
    [DllImport("libc.so.6", EntryPoint = "mallopt", ExactSpelling = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Mallopt(int param, int value);
}
