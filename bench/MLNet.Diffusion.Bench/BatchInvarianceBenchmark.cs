using System.Globalization;
using MLNet.Diffusion.Models;
using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.Sampling;

namespace MLNet.Diffusion.Bench;

/// <summary>
/// What batch-invariant sampling costs: the sampler's network call (<see cref="UNetDenoiser"/>) through the
/// batch-invariant <see cref="UNet2D.ForwardAt"/> against the batched <see cref="UNet2D.Forward"/> it replaced, in the
/// same process, interleaved call by call (each round times both at every batch size), at batch
/// sizes 1, 5, 16 and 64 of a class-conditional model with random weights and mixed labels. Reports per batch size the
/// median over rounds of each one's median call time and the median, minimum and maximum over rounds of the ratio
/// of a round's two medians.
/// </summary>
public static class BatchInvarianceBenchmark
{
    /// <summary>The batch sizes timed.</summary>
    public static IReadOnlyList<int> BatchSizes { get; } = [1, 5, 16, 64];

    /// <summary>Runs the benchmark, writing its table to <paramref name="output"/>; the process's thread count is restored after.</summary>
    public static void Run(BatchInvarianceOptions options, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);
        var threads = torch.get_num_threads();
        try
        {
            Time(options, output);
        }
        finally
        {
            torch.set_num_threads(threads);  // the thread count is process-wide; the tests run the benchmark in their process
        }
    }

    private static void Time(BatchInvarianceOptions options, TextWriter output)
    {
        torch.set_num_threads(options.Threads);
        const int classes = 10;
        torch.manual_seed(1);
        using var model = new UNet2D(UNetConfig.Preset(options.Preset, options.ImageSize, options.Channels, classes));
        using (torch.no_grad())
        {
            foreach (var parameter in model.parameters())
            {
                parameter.add_(torch.randn_like(parameter) * 0.05);  // away from the zero init: every layer computes
            }
        }

        model.eval();
        using var noGrad = torch.no_grad();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"batch-invariant sampling forward against the batched one: {model.Config}, {torch.get_num_threads()} threads, {options.Rounds} rounds"));
        var cases = BatchSizes.Select(batch =>
        {
            var x = torch.randn([batch, options.Channels, options.ImageSize, options.ImageSize]).DetachFromDisposeScope();
            var labels = (torch.arange(batch, ScalarType.Int64) % (classes + 1)).DetachFromDisposeScope();
            var before = UNetDenoiser.Create(model, labels, 1, batchInvariant: false);
            var after = UNetDenoiser.Create(model, labels, 1, batchInvariant: true);
            // Blocks of about 128 images, at least 2 calls.
            var calls = Math.Max(2, 128 / batch);
            return (Batch: batch, X: x, Labels: labels, Before: before, After: after, Calls: calls);
        }).ToList();

        foreach (var c in cases)
        {
            for (var i = 0; i < options.Warmup; i++)
            {
                c.Before(c.X, 500).Dispose();
                c.After(c.X, 500).Dispose();
            }
        }

        // Each round times every call on its own, the two paths alternating call by call (which goes first alternates
        // too), so that a slow stretch of the machine falls on both; a round's cost is the ratio of its two medians.
        var times = cases.ToDictionary(c => c.Batch, _ => (Before: new List<double>(), After: new List<double>()));
        for (var round = 0; round < options.Rounds; round++)
        {
            foreach (var c in cases)
            {
                var (before, after) = (new List<double>(), new List<double>());
                for (var call = 0; call < c.Calls; call++)
                {
                    var afterFirst = (round + call) % 2 == 1;
                    foreach (var isAfter in afterFirst ? new[] { true, false } : [false, true])
                    {
                        var denoiser = isAfter ? c.After : c.Before;
                        (isAfter ? after : before).Add(Timing.Measure(1, () => denoiser(c.X, 500).Dispose())[0]);
                    }
                }

                times[c.Batch].Before.Add(Timing.Median(before));
                times[c.Batch].After.Add(Timing.Median(after));
            }
        }

        output.WriteLine("| batch | batched forward, ms | batch-invariant, ms | cost: median ratio − 1 | min | max |");
        output.WriteLine("| ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var (batch, (before, after)) in times)
        {
            var ratios = before.Zip(after, (b, a) => a / b).ToList();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {batch} | {Timing.Median(before):F2} | {Timing.Median(after):F2} | {Timing.Median(ratios) - 1:+0.0%;-0.0%} | {ratios.Min() - 1:+0.0%;-0.0%} | {ratios.Max() - 1:+0.0%;-0.0%} |"));
        }

        foreach (var c in cases)
        {
            c.X.Dispose();
            c.Labels.Dispose();
        }
    }
}
