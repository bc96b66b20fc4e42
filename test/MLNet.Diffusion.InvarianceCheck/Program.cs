using System.Runtime.CompilerServices;
using MLNet.Diffusion.InvarianceCheck;
using TorchSharp;

// Usage: [--torch-first] [--threads N]. With --torch-first a TorchSharp matrix product runs before any MLNet.Diffusion
// code, as in an app that uses TorchSharp first: oneMKL then starts in its own default mode, before the library's
// module initializer could set MKL_CBWR. Prints the native settings, one line per mismatching batch, and the SHA-256 of
// the checked image's float32 bytes at guidance 1 and 2 (to compare processes); exit code 0
// when there is none, 1 when there are, 2 on bad arguments.
if (args.Contains("--torch-first"))
{
    TorchFirst();
}

if (Array.IndexOf(args, "--threads") is var at and >= 0)
{
    if (at + 1 >= args.Length || !int.TryParse(args[at + 1], out var threads) || threads < 1)
    {
        Console.Error.WriteLine("error: --threads takes a whole number ≥ 1");
        return 2;
    }

    torch.set_num_threads(threads);
}

return Check();

[MethodImpl(MethodImplOptions.NoInlining)]
static void TorchFirst()
{
    Console.WriteLine($"MKL_CBWR before the first matrix product: {Environment.GetEnvironmentVariable("MKL_CBWR") ?? "(unset)"}");
    using var a = torch.ones(64, 64);
    using var product = a.matmul(a);
}

[MethodImpl(MethodImplOptions.NoInlining)]
static int Check()
{
    using var model = GenerationInvariance.CreateModel();
    Console.WriteLine($"threads {torch.get_num_threads()}, MKL_CBWR {Environment.GetEnvironmentVariable("MKL_CBWR")}, ONEDNN_MAX_CPU_ISA {Environment.GetEnvironmentVariable("ONEDNN_MAX_CPU_ISA") ?? "(unset)"}, ATEN_CPU_CAPABILITY {Environment.GetEnvironmentVariable("ATEN_CPU_CAPABILITY") ?? "(unset)"}");
    var mismatches = GenerationInvariance.Mismatches(model, label: 1).Concat(GenerationInvariance.ForwardMismatches()).ToList();
    foreach (var mismatch in mismatches)
    {
        Console.WriteLine(mismatch);
    }

    Console.WriteLine($"{mismatches.Count} mismatching batches");
    foreach (var guidance in new[] { 1.0, 2.0 })
    {
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(GenerationInvariance.Alone(model, 1, guidance).AsSpan());
        Console.WriteLine($"image at guidance {guidance}: SHA-256 {Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(bytes))}");
    }

    return mismatches.Count == 0 ? 0 : 1;
}
