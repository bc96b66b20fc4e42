using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using MLNet.Diffusion.Training;
using TorchSharp;
using MLNet.Diffusion.Datasets;
using MLNet.Diffusion.Images;

namespace MLNet.Diffusion.Bench;

/// <summary>
/// What reading training data through ML.NET costs: (1) training images/s through the <c>IDataView</c> path
/// (<c>mlContext.Diffusion().Train(...).Fit(LoadFashionMnist(...))</c>, cursors and getters) against the tensor path
/// (<see cref="DdpmTrainer"/> on a <see cref="TensorTrainingData"/> holding the same images), in interleaved rounds in this
/// process, with the same options; (2) the peak resident set of <c>mlnet-diffusion train</c> child processes on image folders
/// of different sizes, one pass over each, which must not grow with the image count (nothing of the dataset is kept).
/// </summary>
public static class DataPathBenchmark
{
    /// <summary>The least share of the tensor path's rate the IDataView path should keep.</summary>
    public const double TargetShare = 0.95;

    /// <summary>Runs both measurements and prints them; <paramref name="trainer"/> makes the start info of one <c>mlnet-diffusion train</c> process.</summary>
    /// <returns>0 when the IDataView path kept <see cref="TargetShare"/> of the tensor path's rate, 1 otherwise.</returns>
    public static int Run(DataPathOptions options, Func<IReadOnlyList<string>, ProcessStartInfo> trainer, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(output);
        var share = Throughput(options.Preset, options.BatchSize, options.Steps, options.Rounds, output);
        FolderMemory(options.FolderSizes, trainer, output);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"target: the IDataView path keeps ≥ {TargetShare:P0} of the tensor path's images/s: {(share >= TargetShare ? "met" : "NOT MET")}"));
        return share >= TargetShare ? 0 : 1;
    }

    private static double Throughput(string preset, int batch, int steps, int rounds, TextWriter output)
    {
        const int Limit = 4096;
        var options = new DiffusionTrainer.Options
        {
            ModelPreset = preset, BatchSize = batch, MaxSteps = steps, WarmupSteps = 1, SampleGridSize = 0, Device = "cpu", Seed = 1,
            LabelColumnName = "Label", ClassConditional = true,
        };
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"data path: preset {preset}, batch {batch}, {steps} steps per run, {rounds} interleaved rounds, Fashion-MNIST first {Limit} images, {torch.get_num_threads()} threads"));
        var (images, labels) = FashionMnist.LoadTrain(Limit);
        using var tensors = new TensorTrainingData(images, labels, FashionMnist.ClassCount);
        images.Dispose();
        labels.Dispose();
        var ml = new MLContext(seed: 1);
        var view = ml.Diffusion().LoadFashionMnist(limit: Limit);
        var shares = new List<double>();
        for (var round = 1; round <= rounds; round++)
        {
            double tensorRate;
            using (var result = new DdpmTrainer(options).Train(tensors))
            {
                tensorRate = result.ImagesPerSecond;
            }

            double viewRate;
            using (var model = ml.Diffusion().Train(options).Fit(view))
            {
                viewRate = model.Training!.ImagesPerSecond;
            }

            shares.Add(viewRate / tensorRate);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"round {round}: tensor path {tensorRate,7:F1} images/s, IDataView path {viewRate,7:F1} images/s, ratio {viewRate / tensorRate:F3}"));
        }

        var median = shares.Order().ElementAt(shares.Count / 2);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"median ratio IDataView / tensor: {median:F3}"));
        return median;
    }

    private static void FolderMemory(IReadOnlyList<int> sizes, Func<IReadOnlyList<string>, ProcessStartInfo> trainer, TextWriter output)
    {
        var root = Path.Combine(Path.GetTempPath(), "mlnet-diffusion-folder-" + Guid.NewGuid().ToString("N"));
        try
        {
            foreach (var size in sizes)
            {
                var folder = Path.Combine(root, size.ToString(CultureInfo.InvariantCulture));
                Directory.CreateDirectory(folder);
                var random = new Random(size);
                for (var i = 0; i < size; i++)
                {
                    var pixels = new byte[48 * 48 * 3];
                    random.NextBytes(pixels);
                    ImageCodec.SavePng(new Image(48, 48, 3, pixels), Path.Combine(folder, string.Create(CultureInfo.InvariantCulture, $"{i:D5}.png")));
                }

                // One pass over the folder: every image is decoded and resized once.
                var steps = (size + 63) / 64;
                var info = trainer([
                    "train", "--data", folder, "--image-size", "32", "--model", "tiny", "--batch-size", "64", "--steps", steps.ToString(CultureInfo.InvariantCulture),
                    "--device", "cpu", "--sample-grid", "0", "--out", Path.Combine(root, $"model-{size}.zip"),
                ]);
                info.RedirectStandardOutput = true;
                info.RedirectStandardError = true;
                info.UseShellExecute = false;
                using var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start a training process.");
                var text = process.StandardOutput.ReadToEndAsync();
                var errors = process.StandardError.ReadToEndAsync();
                var peak = 0L;
                while (!process.WaitForExit(20))
                {
                    process.Refresh();
                    try
                    {
                        peak = Math.Max(peak, process.PeakWorkingSet64);  // VmHWM: the high-water mark so far
                    }
                    catch (InvalidOperationException)
                    {
                        break;  // exited between the wait and the read
                    }
                }

                if (process.ExitCode != 0)
                {
                    throw new InvalidOperationException($"The training on {size} images failed (exit {process.ExitCode}): {errors.Result}{text.Result}");
                }

                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"image folder of {size,5} PNGs (48×48 → 32×32, tiny, batch 64, {steps} steps = one pass): peak RSS {peak / (1024.0 * 1024.0),7:F1} MiB"));
            }
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }
}
