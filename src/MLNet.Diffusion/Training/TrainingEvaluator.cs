using System.Diagnostics;
using System.Globalization;
using MLNet.Diffusion.Engine;
using MLNet.Diffusion.ForwardProcess;
using MLNet.Diffusion.Metrics;
using MLNet.Diffusion.Models;
using MLNet.Diffusion.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Training;

/// <summary>
/// The evaluations of a run (<see cref="DdpmTrainerOptions.EvaluateEvery"/>): a fixed random subset of the training images
/// featurized once, then at each evaluation the moving-average model's images for fixed seeds, their KID against that subset,
/// and <c>best.zip</c> when it is the lowest so far. Nothing here draws from the run's generators: building the feature
/// network and the evaluated model puts the default generator back as it was, and sampling has generators of its own.
/// </summary>
internal sealed class TrainingEvaluator : IDisposable
{
    /// <summary>The name of the best model's file in the checkpoint directory.</summary>
    public const string BestModelFileName = "best.zip";

    // The pass that picks the training images compared: a seed of its own, so the subset does not depend on the run's seed.
    private const ulong SubsetSeed = 0x5EED_CAFE;

    private readonly DdpmTrainerOptions _options;
    private readonly UNetConfig _config;
    private readonly Device _device;
    private readonly NoiseSchedule _schedule;
    private readonly IImageFeatureExtractor _extractor;
    private readonly Tensor _reference;
    private readonly List<TrainingEvaluation> _curve = [];

    public TrainingEvaluator(DdpmTrainerOptions options, UNetConfig config, Device device, NoiseSchedule schedule, ITrainingData data,
        IReadOnlyList<TrainingEvaluation> restored)
    {
        _options = options;
        _config = config;
        _device = device;
        _schedule = schedule;
        _curve.AddRange(restored);
        var kind = FeatureExtractors.Resolve(options.EvaluationFeatures, config.ImageSize, config.InChannels, fashionMnistData: true);

        var clock = Stopwatch.StartNew();
        _extractor = DefaultGenerator.Preserving(() => FeatureExtractors.Create(kind, device));
        try
        {
            using var scope = torch.NewDisposeScope();
            var images = ReadSubset(data, options.EvaluationCount);
            ReferenceCount = (int)images.size(0);
            _reference = scope.MoveToOuter(ReferenceStatistics.Features(_extractor, images, BatchSize));
        }
        catch
        {
            _extractor.Dispose();
            throw;
        }

        ReferenceSeconds = clock.Elapsed.TotalSeconds;
    }

    /// <summary>The evaluations so far, the restored ones first.</summary>
    public IReadOnlyList<TrainingEvaluation> Curve => _curve;

    /// <summary>Training images compared (the count asked for, or all when the data holds fewer).</summary>
    public int ReferenceCount { get; }

    /// <summary>The seconds it took to featurize them.</summary>
    public double ReferenceSeconds { get; }

    /// <summary>What the feature network is.</summary>
    public string FeatureName => _extractor.Name;

    /// <summary>
    /// Writes a model file of the run at a step: (path, moving-average network, options, step, losses, loss window, elapsed,
    /// images per second). It takes the network. The model file is a layer above training, so the front door registers its
    /// writer when the assembly loads (<c>DiffusionModel</c>'s module initializer); null, best.zip is not written.
    /// </summary>
    internal static Action<string, UNet2D, DdpmTrainerOptions, long, IReadOnlyList<double>, int, TimeSpan, double>? SaveModel { get; set; }

    private int BatchSize => Math.Min(64, _options.EvaluationCount);

    /// <summary>The sampler's steps: DPM-Solver++'s default, 20 (fewer only for a schedule of fewer training steps).</summary>
    private int SamplingSteps => Samplers.DefaultSteps(Samplers.DpmSolverPlusPlus, _schedule.TrainTimesteps);

    /// <summary>
    /// The seconds one evaluation will take, from timing <paramref name="probe"/> images of <paramref name="network"/>
    /// (generated and featurized) and scaling to the evaluation's count.
    /// </summary>
    public double EstimateSeconds(UNet2D network, int probe = 16)
    {
        var count = Math.Min(probe, _options.EvaluationCount);
        var clock = Stopwatch.StartNew();
        using var scope = torch.NewDisposeScope();
        _extractor.Extract(Generate(network, 0, count));
        return clock.Elapsed.TotalSeconds * _options.EvaluationCount / count;
    }

    /// <summary>
    /// Evaluates <paramref name="network"/> (the moving average at <paramref name="step"/>) and adds the point to the curve;
    /// <see cref="TrainingEvaluation.Kid"/> below every earlier point's makes it the best so far.
    /// </summary>
    public TrainingEvaluation Evaluate(long step, UNet2D network)
    {
        var clock = Stopwatch.StartNew();
        using var scope = torch.NewDisposeScope();
        var features = new List<Tensor>();
        for (var start = 0; start < _options.EvaluationCount; start += BatchSize)
        {
            using var batch = torch.NewDisposeScope();
            var length = Math.Min(BatchSize, _options.EvaluationCount - start);
            features.Add(batch.MoveToOuter(_extractor.Extract(Generate(network, start, length))));
        }

        var kid = KernelInceptionDistance.Compute(torch.cat(features), _reference);
        var point = new TrainingEvaluation(step, kid.Mean, kid.StandardDeviation, clock.Elapsed.TotalSeconds);
        _curve.Add(point);
        return point;
    }

    /// <summary>A line for the run's log: the estimate of an evaluation's cost beside the training time it adds to.</summary>
    public string CostLine(double evaluationSeconds, double secondsPerStep, out bool tooCostly)
    {
        var trainingSeconds = secondsPerStep * _options.EvaluateEvery;
        var share = evaluationSeconds / Math.Max(trainingSeconds, 1e-9);
        tooCostly = share > 0.25;
        return string.Create(CultureInfo.InvariantCulture,
            $"evaluation: about {evaluationSeconds:F0} s each ({_options.EvaluationCount} images, DPM-Solver++ {SamplingSteps} steps, KID against {ReferenceCount} training images through {FeatureName}), every {_options.EvaluateEvery} steps; " +
            $"training takes about {trainingSeconds:F0} s per {_options.EvaluateEvery} steps, so evaluation adds {share:P0} to the training time") +
            (tooCostly ? ". Warning: that is more than 25 %; raise the evaluation interval or lower its count." : ".");
    }

    public void Dispose()
    {
        _reference.Dispose();
        _extractor.Dispose();
    }

    // Images start..start+count-1 of the evaluation as a saved model generates them by default: seed i, label i mod classes,
    // guidance 1, DPM-Solver++ at its default steps (20), clamped to [−1, 1].
    private Tensor Generate(UNet2D network, int start, int count)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var labels = _config.NumClasses is { } classes
            ? torch.tensor(Enumerable.Range(start, count).Select(i => (long)(i % classes)).ToArray(), device: _device)
            : null;
        var sampler = Samplers.Create(Samplers.DpmSolverPlusPlus, _schedule, new SamplerOptions { PredictionType = _options.PredictionType });
        using var noise = SamplingNoise.PerSample((ulong)start, count, _device);
        var images = SamplingLoop.Run(sampler, UNetDenoiser.Create(network, labels), [count, _config.InChannels, _config.ImageSize, _config.ImageSize],
            noise, SamplingSteps);
        return scope.MoveToOuter(images.clamp(-1, 1).to(torch.CPU));
    }

    // The first `count` examples of one pass of the data in the order a fixed seed gives: the same subset on every run and resume.
    private static Tensor ReadSubset(ITrainingData data, int count)
    {
        using var scope = torch.NewDisposeScope();
        using var pass = data.OpenPass(SubsetSeed, 0, 0);
        var parts = new List<Tensor>();
        var read = 0;
        while (read < count && pass.Read(count - read) is var (images, _))
        {
            parts.Add(images.to(torch.CPU));
            read += (int)images.size(0);
        }

        if (parts.Count == 0)
        {
            throw new InvalidDataException("The training data gave no images to evaluate against.");
        }

        return scope.MoveToOuter(torch.cat(parts));
    }
}
