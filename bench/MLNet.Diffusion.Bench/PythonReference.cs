using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace MLNet.Diffusion.Bench;

/// <summary>
/// The PyTorch side: one persistent torch_bench.py process, driven over stdin/stdout one line at a time
/// (a command out, one JSON object back). Its stderr goes straight to ours.
/// </summary>
internal sealed class PythonReference : IDisposable
{
    private const string ScriptName = "torch_bench.py";

    private readonly Process _process;

    private PythonReference(Process process, JsonElement ready)
    {
        _process = process;
        TorchVersion = ready.GetProperty("torch").GetString() ?? "?";
        Threads = ready.GetProperty("threads").GetInt32();
        PythonVersion = ready.GetProperty("python").GetString() ?? "?";
        Executable = ready.GetProperty("executable").GetString() ?? "?";
        SteadyMalloc = ready.GetProperty("malloc_steady").GetBoolean();
        ParameterCounts = ready.GetProperty("parameters").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt64());
    }

    /// <summary>torch.__version__ of the child.</summary>
    public string TorchVersion { get; }

    /// <summary>torch.get_num_threads() of the child after it was set.</summary>
    public int Threads { get; }

    /// <summary>The child's Python version.</summary>
    public string PythonVersion { get; }

    /// <summary>The child's sys.executable.</summary>
    public string Executable { get; }

    /// <summary>Whether the child fixed glibc's mmap and trim thresholds.</summary>
    public bool SteadyMalloc { get; }

    /// <summary>The number of trainable scalars of each PyTorch model, by command name.</summary>
    public IReadOnlyDictionary<string, long> ParameterCounts { get; }

    /// <summary>Starts the script and waits until it has built its models; <paramref name="extraArguments"/> follow the usual ones.</summary>
    public static PythonReference Start(string python, string script, BenchOptions options, int seed, IEnumerable<string>? extraArguments = null)
    {
        var info = new ProcessStartInfo(python)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = false,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(script);
        info.ArgumentList.Add("--threads");
        info.ArgumentList.Add(options.Threads.ToString(CultureInfo.InvariantCulture));
        info.ArgumentList.Add("--seed");
        info.ArgumentList.Add(seed.ToString(CultureInfo.InvariantCulture));
        info.ArgumentList.Add("--malloc");
        info.ArgumentList.Add(options.SteadyMalloc ? "steady" : "default");
        info.ArgumentList.Add("--preset");
        info.ArgumentList.Add(options.Preset);
        info.ArgumentList.Add("--batch-size");
        info.ArgumentList.Add(options.BatchSize.ToString(CultureInfo.InvariantCulture));
        info.ArgumentList.Add("--image-size");
        info.ArgumentList.Add(options.ImageSize.ToString(CultureInfo.InvariantCulture));
        info.ArgumentList.Add("--channels");
        info.ArgumentList.Add(options.Channels.ToString(CultureInfo.InvariantCulture));
        info.ArgumentList.Add("--workloads");
        info.ArgumentList.Add(string.Join(",", options.Workloads));
        foreach (var argument in extraArguments ?? [])
        {
            info.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start '{python}'.");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException(
                $"Could not start the Python interpreter '{python}': {ex.Message}. Install Debian's python3-torch " +
                "(./build.sh does) or pass --python PATH.", ex);
        }

        process.StandardInput.AutoFlush = true;
        try
        {
            var ready = ReadAnswer(process, "start-up");
            return new PythonReference(process, ready);
        }
        catch
        {
            Stop(process);
            throw;
        }
    }

    /// <summary>Finds torch_bench.py: next to this program (copied by the build), else in bench/reference above it.</summary>
    public static string FindScript(string? explicitPath)
    {
        if (explicitPath is not null)
        {
            return File.Exists(explicitPath)
                ? Path.GetFullPath(explicitPath)
                : throw new FileNotFoundException($"--script: '{explicitPath}' does not exist.", explicitPath);
        }

        var candidates = new List<string> { Path.Combine(AppContext.BaseDirectory, "reference", ScriptName) };
        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                candidates.Add(Path.Combine(dir.FullName, "bench", "reference", ScriptName));
            }
        }

        return candidates.FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException(
                $"Could not find {ScriptName} (looked in: {string.Join(", ", candidates.Distinct())}). Pass --script PATH.");
    }

    /// <summary>Runs <paramref name="iterations"/> steps of the named workload.</summary>
    public BlockTiming Run(string command, int iterations)
    {
        var answer = Ask(string.Create(CultureInfo.InvariantCulture, $"{command} {iterations}"));
        var ms = answer.GetProperty("ms").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        return ms.Length == iterations
            ? new BlockTiming(ms, answer.GetProperty("minflt").GetInt64())
            : throw new InvalidDataException($"{ScriptName} answered {ms.Length} times for '{command} {iterations}'.");
    }

    /// <summary>Runs <paramref name="iterations"/> whole sampling runs of <paramref name="steps"/> steps (<c>sample-run N S</c>).</summary>
    public BlockTiming RunSampling(int iterations, int steps)
    {
        var answer = Ask(string.Create(CultureInfo.InvariantCulture, $"sample-run {iterations} {steps}"));
        var ms = answer.GetProperty("ms").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        return ms.Length == iterations
            ? new BlockTiming(ms, answer.GetProperty("minflt").GetInt64())
            : throw new InvalidDataException($"{ScriptName} answered {ms.Length} times for 'sample-run {iterations} {steps}'.");
    }

    /// <summary>
    /// One <paramref name="steps"/>-step sampling run under torch.autograd.profiler: its wall time (with the profiler's
    /// own overhead) and each operator's self CPU time in ms and call count.
    /// </summary>
    public (double TotalMs, Dictionary<string, (double Ms, long Calls)> Ops) ProfileSampling(int steps)
    {
        var answer = Ask(string.Create(CultureInfo.InvariantCulture, $"profile {steps}"));
        var ops = answer.GetProperty("ops").EnumerateObject().ToDictionary(
            p => p.Name, p => (p.Value[0].GetDouble(), p.Value[1].GetInt64()));
        return (answer.GetProperty("total_ms").GetDouble(), ops);
    }

    /// <summary>
    /// Has the child load the tensors in <paramref name="path"/>, run its probe steps and write the tensors they computed
    /// to <paramref name="outputPath"/> (safetensors, names prefixed with the command); the numbers by command name.
    /// </summary>
    public Dictionary<string, double[]> Check(string path, string outputPath) =>
        Ask($"check {path} {outputPath}").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.EnumerateArray().Select(e => e.GetDouble()).ToArray());

    /// <summary>The child's peak resident set size in KiB (getrusage ru_maxrss).</summary>
    public long PeakRssKiB() => Ask("rss").GetProperty("max_rss_kib").GetInt64();

    /// <summary>The child's resident set size now and its peak since the last <see cref="ResetPeakRss"/>, in KiB.</summary>
    public (long Current, long Peak) RssKiB()
    {
        var answer = Ask("rss");
        return (answer.GetProperty("rss_kib").GetInt64(), answer.GetProperty("hwm_kib").GetInt64());
    }

    /// <summary>Resets the child's peak resident set size to its current size; returns that size in KiB.</summary>
    public long ResetPeakRss() => Ask("rss-reset").GetProperty("rss_kib").GetInt64();

    /// <summary>Asks the child to quit, and kills it if it does not.</summary>
    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.StandardInput.WriteLine("quit");
            }
        }
        catch (IOException)
        {
            // The pipe is gone: the child already exited.
        }

        Stop(_process);
    }

    private JsonElement Ask(string command)
    {
        try
        {
            _process.StandardInput.WriteLine(command);
        }
        catch (IOException ex)
        {
            throw new InvalidOperationException($"{ScriptName} is no longer listening (sending '{command}').", ex);
        }

        return ReadAnswer(_process, command);
    }

    private static JsonElement ReadAnswer(Process process, string command)
    {
        var line = process.StandardOutput.ReadLine();
        if (line is null)
        {
            process.WaitForExit(5000);
            var status = process.HasExited ? $"exit code {process.ExitCode}" : "still running";
            throw new InvalidOperationException(
                $"{ScriptName} closed its output while answering '{command}' ({status}); its error output is above.");
        }

        JsonElement answer;
        try
        {
            using var document = JsonDocument.Parse(line);
            answer = document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{ScriptName} answered '{command}' with a line that is not JSON: {line}", ex);
        }

        return answer.TryGetProperty("error", out var error)
            ? throw new InvalidOperationException($"{ScriptName} failed on '{command}': {error.GetString()}")
            : answer;
    }

    private static void Stop(Process process)
    {
        try
        {
            // End of input makes the script's read loop finish, whatever state it is in.
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // Already gone.
        }

        if (!process.WaitForExit(5000))
        {
            process.Kill();
            process.WaitForExit();
        }

        process.Dispose();
    }
}
