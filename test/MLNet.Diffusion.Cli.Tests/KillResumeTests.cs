using System.Diagnostics;
using MLNet.Diffusion.IO;
using TorchSharp;

namespace MLNet.Diffusion.Cli.Tests;

/// <summary>
/// Training killed with SIGKILL at any moment — during start-up, between steps, in the middle of a checkpoint write —
/// and resumed from its newest checkpoint ends bit-identical to a run that was never interrupted (on the CPU).
/// </summary>
[TestClass]
public sealed class KillResumeTests
{
    private const int Steps = 60;

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [Timeout(600_000, CooperativeCancellation = true)]
    public void Train_KilledAtRandomMoments_ResumesToTheUninterruptedResult()
    {
        var root = Path.Combine(TestContext.TestRunDirectory ?? Path.GetTempPath(), "kill-" + Guid.NewGuid().ToString("N"));
        var reference = Path.Combine(root, "reference");
        var killed = Path.Combine(root, "killed");
        Directory.CreateDirectory(reference);
        Directory.CreateDirectory(killed);

        using (var uninterrupted = Start(Train(reference, resume: false)))
        {
            uninterrupted.WaitForExit();
            Assert.AreEqual(0, uninterrupted.ExitCode, "the uninterrupted run failed");
        }

        // Kills at random moments (a fixed seed, so a failure can be replayed), including during start-up; once 7 have
        // landed, kills wait for a checkpoint write to start (its temporary file appears) until one dies inside it.
        var random = new Random(20261129);
        var (kills, insideWrite, finished) = (0, 0, false);
        for (var attempt = 0; attempt < 40 && !finished; attempt++)
        {
            var enough = kills >= 8 && insideWrite >= 1;
            var waitForWrite = !enough && kills >= 7 && insideWrite == 0;
            using var process = Start(Train(killed, resume: Newest(killed) is not null));
            var delay = TimeSpan.FromMilliseconds(random.Next(300, 3000));
            var clock = Stopwatch.StartNew();
            while (!enough && !process.HasExited)
            {
                if (waitForWrite ? Directory.EnumerateFiles(killed, ".checkpoint-*.tmp").Any() : clock.Elapsed >= delay)
                {
                    process.Kill();
                    break;
                }

                Thread.Sleep(waitForWrite ? 0 : 5);
            }

            process.WaitForExit();
            if (!enough && process.ExitCode == 137)  // 128 + SIGKILL
            {
                kills++;
                var leftovers = Directory.EnumerateFiles(killed, ".checkpoint-*.tmp").ToList();
                insideWrite += leftovers.Count > 0 ? 1 : 0;
                TestContext.WriteLine($"kill {kills} after {clock.Elapsed.TotalSeconds:F2} s{(leftovers.Count > 0 ? ", inside a checkpoint write" : string.Empty)}; newest checkpoint: {Path.GetFileName(Newest(killed)) ?? "none"}");
                continue;
            }

            Assert.AreEqual(0, process.ExitCode, $"exit code {process.ExitCode}");
            finished = true;
        }

        Assert.IsTrue(finished, "the interrupted run never finished");
        Assert.IsTrue(kills >= 8, $"only {kills} kills");
        Assert.IsTrue(insideWrite >= 1, "no kill landed inside a checkpoint write");

        using var expected = Safetensors.Load(Newest(reference)!);
        using var actual = Safetensors.Load(Newest(killed)!);
        StringAssert.EndsWith(Newest(killed), $"checkpoint-{Steps:D8}.safetensors");
        CollectionAssert.AreEquivalent(expected.Tensors.Keys.ToList(), actual.Tensors.Keys.ToList());
        foreach (var (name, tensor) in expected.Tensors)
        {
            // TorchSharp's equal is elementwise (PyTorch's eq); all() of it, on equal shapes, is torch.equal.
            var other = actual.Tensors[name];
            using var scope = torch.NewDisposeScope();
            var same = tensor.dtype == other.dtype && tensor.shape.SequenceEqual(other.shape) && tensor.equal(other).all().ToBoolean();
            Assert.IsTrue(same, $"{name} differs after {kills} kills ({insideWrite} inside a checkpoint write)");
        }

        // The two runs' checkpoints take about 180 MB; a failed run keeps them for a look.
        Directory.Delete(root, recursive: true);
    }

    private static string? Newest(string directory) =>
        Directory.GetFiles(directory, "checkpoint-*.safetensors").Order(StringComparer.Ordinal).LastOrDefault();

    private static ProcessStartInfo Train(string directory, bool resume)
    {
        var cli = Path.Combine(AppContext.BaseDirectory, "mlnet-diffusion.dll");
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        foreach (var arg in new[]
        {
            cli, "train", "--data", "fashion-mnist", "--limit", "64", "--model", "small", "--steps", Steps.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--batch-size", "4", "--class-conditional", "--device", "cpu", "--threads", "1", "--out", Path.Combine(directory, "model.zip"),
            "--checkpoint-dir", directory, "--checkpoint-every", "1", "--sample-grid", "0",
        })
        {
            info.ArgumentList.Add(arg);
        }

        if (resume)
        {
            info.ArgumentList.Add("--resume");
        }

        return info;
    }

    // Output is read and dropped as it comes, so the child never blocks on a full pipe.
    private static Process Start(ProcessStartInfo info)
    {
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
