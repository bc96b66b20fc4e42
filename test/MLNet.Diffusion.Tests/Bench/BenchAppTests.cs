using System.Globalization;
using MLNet.Diffusion.Bench;
using MLNet.Diffusion.Tests.Images;

namespace MLNet.Diffusion.Tests.Bench;

/// <summary>
/// The benchmark program's command line (bench/MLNet.Diffusion.Bench, <c>./build.sh bench</c>): one parser for every
/// benchmark, the options a benchmark would not read refused, and a help whose defaults are the parser's.
/// </summary>
[TestClass]
public sealed class BenchAppTests
{
    private static (int Code, string Output, string Error) Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = BenchApp.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [TestMethod]
    public void Run_UnknownPreset_IsAUsageErrorNamingThePresets()
    {
        var (code, _, error) = Run("--preset", "huge");
        Assert.AreEqual(2, code);
        StringAssert.Contains(error, "--preset takes one of tiny, small, ddpm-cifar10, not 'huge'");
    }

    [TestMethod]
    public void Run_CheckOnly_TinyUNetAgreesWithPyTorch()
    {
        // Needs Debian's python3-torch (./build.sh installs it); the rest of the suite passes without it.
        DebianPython.RequireTorchOrInconclusive();
        var (code, output, error) = Run("--check-only", "--workloads", "unet-train,unet-sample", "--preset", "tiny", "--batch-size", "2",
            "--image-size", "8", "--threads", "1");
        Assert.AreEqual(0, code, error);
        StringAssert.Contains(output, "one forward pass at random timesteps: largest difference");
        StringAssert.Contains(output, "--check-only: both sides compute the same numbers");
    }

    [TestMethod]
    [DataRow(new[] { "--shared-cores", "--rounds", "3" }, "--rounds does not apply to --shared-cores, which reads only --preset, --batch-size, --steps, --threads")]
    [DataRow(new[] { "--data-path", "--workloads", "conv" }, "--workloads does not apply to --data-path")]
    [DataRow(new[] { "--check-only", "--rounds", "2", "--quick" }, "--rounds, --quick do not apply to --check-only")]
    [DataRow(new[] { "--steps", "5" }, "--steps does not apply to the side-by-side benchmark")]
    [DataRow(new[] { "--shared-cores", "--data-path" }, "--shared-cores, --data-path, --onnx and --batch-invariance are separate benchmarks: give one of them")]
    [DataRow(new[] { "--onnx", "--batch-invariance" }, "are separate benchmarks")]
    [DataRow(new[] { "--onnx", "--iters", "3" }, "--iters does not apply to --onnx")]
    [DataRow(new[] { "--batch-invariance", "--batch-size", "3" }, "--batch-size does not apply to --batch-invariance, which reads only --preset, --image-size, --channels, --threads, --rounds, --warmup")]
    public void Run_OptionsTheBenchmarkDoesNotRead_AreRefused(string[] args, string expected)
    {
        var (code, output, error) = Run(args);
        Assert.AreEqual(1, code, error);
        StringAssert.Contains(error, expected);
        Assert.AreEqual(string.Empty, output);
    }

    [TestMethod]
    public void Run_BatchInvariance_PrintsOneRowPerBatchSize()
    {
        var (code, output, error) = Run("--batch-invariance", "--preset", "tiny", "--image-size", "8", "--rounds", "1", "--warmup", "0", "--threads", "1");
        Assert.AreEqual(0, code, error);
        StringAssert.Contains(output, "1 threads, 1 rounds");
        foreach (var batch in new[] { 1, 5, 16, 64 })
        {
            StringAssert.Matches(output, new System.Text.RegularExpressions.Regex($@"\n\| {batch} \| [0-9.]+ \| [0-9.]+ \| [+-][0-9.]+% \|"));
        }
    }

    [TestMethod]
    [DataRow(new[] { "--batch-size", "0" }, "--batch-size needs a whole number ≥ 1, not '0'")]
    [DataRow(new[] { "--data-path", "--folder-sizes", "2000,many" }, "--folder-sizes takes comma-separated whole numbers ≥ 0")]
    [DataRow(new[] { "--shared-cores", "--steps", "-1" }, "--steps needs a whole number ≥ 1, not '-1'")]
    [DataRow(new[] { "--malloc", "fast" }, "--malloc takes 'steady' or 'default', not 'fast'")]
    [DataRow(new[] { "--workloads", "conv,gan" }, "--workloads takes a comma-separated list from conv, block, unet-train, unet-sample; 'gan' is not one")]
    [DataRow(new[] { "--threads" }, "--threads needs a value")]
    [DataRow(new[] { "--onnx", "--verbose" }, "Unknown argument '--verbose'")]
    public void Run_BadValue_IsAUsageErrorSayingWhatIsAccepted(string[] args, string expected)
    {
        var (code, output, error) = Run(args);
        Assert.AreEqual(2, code, error);
        StringAssert.StartsWith(error, $"error: {expected}");
        Assert.AreEqual(string.Empty, output);
    }

    [TestMethod]
    public void Run_Help_ListsEveryBenchmarkAndExitsZero()
    {
        var (code, output, error) = Run("--help");
        Assert.AreEqual(0, code, error);
        foreach (var flag in new[] { "--check-only", "--shared-cores", "--data-path", "--onnx", "--batch-invariance" })
        {
            StringAssert.Contains(output, $"\n{flag}: ");
        }
    }

    // Each benchmark has defaults of its own (the side-by-side benchmark's batch is 64, --onnx's 16, --shared-cores'
    // 16): the help states, under each benchmark, the value its parsed settings hold when the option is not given.
    [TestMethod]
    [DataRow(null, "--preset", "Preset", "small")]
    [DataRow(null, "--batch-size", "BatchSize", "64")]
    [DataRow(null, "--rounds", "Rounds", "5")]
    [DataRow(null, "--iters", "Iterations", "20")]
    [DataRow(null, "--warmup", "Warmup", "3")]
    [DataRow("--shared-cores", "--preset", "Preset", "tiny")]
    [DataRow("--shared-cores", "--batch-size", "BatchSize", "16")]
    [DataRow("--shared-cores", "--steps", "Steps", "60")]
    [DataRow("--data-path", "--steps", "Steps", "12")]
    [DataRow("--data-path", "--rounds", "Rounds", "3")]
    [DataRow("--onnx", "--batch-size", "BatchSize", "16")]
    [DataRow("--onnx", "--steps", "Steps", "20")]
    [DataRow("--onnx", "--warmup", "Warmup", "1")]
    [DataRow("--batch-invariance", "--warmup", "Warmup", "3")]
    public void Help_StatesTheDefaultEachBenchmarkUses(string? flag, string option, string property, string expected)
    {
        var command = BenchCommandLine.Parse(flag is null ? [] : [flag]);
        var value = command.Options!.GetType().GetProperty(property)!.GetValue(command.Options);
        Assert.AreEqual(expected, Convert.ToString(value, CultureInfo.InvariantCulture), $"{flag ?? "the side-by-side benchmark"} {option}");

        // The benchmark's section of the help: from its heading to the next blank line.
        var help = BenchCommandLine.Help().ReplaceLineEndings("\n");
        var heading = $"\n{flag ?? "(no flag)"}: ";
        var start = help.IndexOf(heading, StringComparison.Ordinal);
        Assert.IsTrue(start >= 0, help);
        var section = help[start..].Split("\n\n")[0];
        var line = section.Split('\n').SingleOrDefault(l => l.StartsWith($"  {option} ", StringComparison.Ordinal));
        Assert.IsNotNull(line, section);
        StringAssert.Contains(line, $"(default {expected})");
    }

    [TestMethod]
    public void Parse_Quick_SetsTheSmokeRunCountsUnlessGiven()
    {
        var quick = (BenchOptions)BenchCommandLine.Parse(["--quick"]).Options!;
        Assert.AreEqual((BenchOptions.QuickRounds, BenchOptions.QuickIterations, BenchOptions.QuickWarmup), (quick.Rounds, quick.Iterations, quick.Warmup));
        var explicitRounds = (BenchOptions)BenchCommandLine.Parse(["--quick", "--rounds", "7"]).Options!;
        Assert.AreEqual((7, BenchOptions.QuickIterations), (explicitRounds.Rounds, explicitRounds.Iterations));
    }
}
