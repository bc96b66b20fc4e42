using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace MLNet.Diffusion.Bench;

/// <summary>
/// Trainings that share the machine's cores: the images/s of one training alone, then of two (and three) started
/// together, each as a fraction of the solo rate, under this library's default OpenMP setting
/// (<c>GOMP_SPINCOUNT=1000</c>, see <c>NativeEnvironment</c>) and, for comparison, under libgomp's own default
/// (<c>GOMP_SPINCOUNT=300000</c>) and under <c>OMP_WAIT_POLICY=PASSIVE</c>. The target: two trainings together each keep
/// at least 40 % of the solo rate. Each training is a child process of <c>mlnet-diffusion train</c>.
/// </summary>
public static partial class SharedCoresBenchmark
{
    /// <summary>The share of the solo rate each of two concurrent trainings should keep.</summary>
    public const double TargetShare = 0.4;

    /// <summary>
    /// Runs the measurement and prints a table. <paramref name="trainer"/> makes the start info of one
    /// <c>mlnet-diffusion train</c> process for the given arguments.
    /// </summary>
    /// <returns>0 when two trainings each kept at least <see cref="TargetShare"/> of the solo rate under the default policy, 1 otherwise.</returns>
    public static int Run(SharedCoresOptions options, Func<IReadOnlyList<string>, ProcessStartInfo> trainer, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(output);
        var preset = options.Preset;
        var batch = options.BatchSize.ToString(CultureInfo.InvariantCulture);
        var steps = options.Steps.ToString(CultureInfo.InvariantCulture);
        var threads = options.Threads?.ToString(CultureInfo.InvariantCulture);
        var folder = Path.Combine(Path.GetTempPath(), "mlnet-diffusion-shared-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"shared cores: {Environment.ProcessorCount} logical processors; each training: preset {preset}, batch {batch}, {steps} steps, threads {threads ?? "default"}"));
        var passed = true;
        try
        {
            foreach (var policy in new[] { ((string, string)?)null, ("GOMP_SPINCOUNT", "300000"), ("OMP_WAIT_POLICY", "PASSIVE") })
            {
                var name = policy is { } p ? $"{p.Item1}={p.Item2}" : "our default";
                var solo = Train(1, policy)[0];
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-26} solo: {solo,8:F1} images/s"));
                foreach (var count in new[] { 2, 3 })
                {
                    var rates = Train(count, policy);
                    var shares = rates.Select(r => r / solo).ToArray();
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{name,-26} {count} together: {string.Join(", ", rates.Select(r => r.ToString("F1", CultureInfo.InvariantCulture))),-24} images/s = {string.Join(", ", shares.Select(s => s.ToString("P0", CultureInfo.InvariantCulture)))} of solo"));
                    if (policy is null && count == 2 && shares.Min() < TargetShare)
                    {
                        passed = false;
                    }
                }
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"target: two trainings together each keep ≥ {TargetShare:P0} of the solo rate under the default policy: {(passed ? "met" : "NOT MET")}"));
        return passed ? 0 : 1;

        double[] Train(int count, (string Name, string Value)? policy)
        {
            var processes = Enumerable.Range(0, count).Select(i =>
            {
                var arguments = new List<string>
                {
                    "train", "--data", "fashion-mnist", "--limit", "512", "--model", preset, "--steps", steps, "--batch-size", batch,
                    "--device", "cpu", "--sample-grid", "0", "--out", Path.Combine(folder, $"model-{count}-{i}.zip"),
                };
                if (threads is not null)
                {
                    arguments.AddRange(["--threads", threads]);
                }

                var info = trainer(arguments);
                info.RedirectStandardOutput = true;
                info.RedirectStandardError = true;
                info.UseShellExecute = false;
                if (policy is { } setting)
                {
                    info.Environment[setting.Name] = setting.Value;
                }

                return Process.Start(info) ?? throw new InvalidOperationException("Could not start a training process.");
            }).ToList();
            var results = processes.Select(p => (Output: p.StandardOutput.ReadToEndAsync(), Error: p.StandardError.ReadToEndAsync())).ToList();
            var rates = new double[count];
            for (var i = 0; i < count; i++)
            {
                processes[i].WaitForExit();
                var text = results[i].Output.Result;
                var match = RatePattern().Match(text);
                if (processes[i].ExitCode != 0 || !match.Success)
                {
                    throw new InvalidOperationException($"A training process failed (exit {processes[i].ExitCode}): {results[i].Error.Result}{text}");
                }

                rates[i] = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
                processes[i].Dispose();
            }

            return rates;
        }
    }

    [GeneratedRegex(@"\(([0-9.]+) images/s\)")]
    private static partial Regex RatePattern();
}
