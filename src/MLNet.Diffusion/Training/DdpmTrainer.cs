using System.Runtime.InteropServices;
using TorchSharp.Modules;
using MLNet.Diffusion.Engine;
using System.Diagnostics;
using System.Globalization;
using MLNet.Diffusion.Models;
using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.Images;
using MLNet.Diffusion.ForwardProcess;
using MLNet.Diffusion.Sampling;

namespace MLNet.Diffusion.Training;

/// <summary>
/// Trains a <see cref="UNet2D"/> with the DDPM objective (Ho et al. 2020, Algorithm 1): AdamW with warm-up,
/// gradient clipping and accumulation, an exponential moving average of the weights, optional class
/// conditioning with label dropout, and checkpoints from which a run resumes exactly. On the CPU a run is
/// a pure function of its options and data: training 2N steps, or N steps then resuming for N more, gives
/// bit-identical losses and weights.
/// </summary>
public sealed class DdpmTrainer
{
    private const double LossSmoothing = 0.98;

    /// <summary>Creates a trainer.</summary>
    public DdpmTrainer(DdpmTrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options.Validated() with { Seed = options.Seed ?? 0 };
    }

    /// <summary>The run's options.</summary>
    public DdpmTrainerOptions Options { get; }

    /// <summary>Trains on <paramref name="data"/>, from scratch or, for fine-tuning, from <paramref name="initialModel"/>'s weights.</summary>
    /// <param name="data">The training data.</param>
    /// <param name="progress">Receives a report after every step.</param>
    /// <param name="initialModel">
    /// Weights to start from (fine-tuning): the network and the moving average start as copies of them, and its configuration replaces
    /// <see cref="DdpmTrainerOptions.Model"/>. Null starts from random weights.
    /// </param>
    /// <param name="cancellationToken">Stops after the current step, writing a checkpoint.</param>
    /// <exception cref="ArgumentException">The data does not fit the model (size, channels, classes).</exception>
    public TrainingResult Train(ITrainingData data, IProgress<TrainingProgress>? progress = null, UNet2D? initialModel = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        var trainer = initialModel is null ? this : new DdpmTrainer(Options with { Model = initialModel.Config });
        var config = trainer.ModelConfig(data);
        torch.random.manual_seed(unchecked((long)Options.Seed!.Value));
        var run = new Run(trainer, data, config);
        if (initialModel is not null)
        {
            run.StartFrom(initialModel);
        }

        return run.Execute(progress, cancellationToken);
    }

    /// <summary>
    /// Continues the run saved in <paramref name="checkpointPath"/> on the same <paramref name="data"/>, with the
    /// checkpoint's options, writing further checkpoints beside the one resumed from. The result covers the whole run:
    /// losses from step 1, training time and throughput summed over every part.
    /// </summary>
    /// <param name="checkpointPath">A checkpoint written by a run.</param>
    /// <param name="data">The run's training data.</param>
    /// <param name="progress">Receives a report after every step.</param>
    /// <param name="maxSteps">A new total number of steps (to train longer than planned); null keeps the run's.</param>
    /// <param name="cancellationToken">Stops after the current step, writing a checkpoint.</param>
    /// <exception cref="ArgumentException">The data differs from the run's (size, channels, classes, examples per pass), or <paramref name="maxSteps"/> is below the checkpoint's step.</exception>
    public static TrainingResult Resume(string checkpointPath, ITrainingData data, IProgress<TrainingProgress>? progress = null,
        long? maxSteps = null, CancellationToken cancellationToken = default) =>
        Resume(ResumePlan.Create(checkpointPath, data, given: null, maxSteps), data, progress, cancellationToken);

    /// <summary>
    /// Continues the run saved in <paramref name="checkpointPath"/> on the same <paramref name="data"/> with
    /// <paramref name="options"/>, the run's options in full as a new run would be given them (e.g. the checkpoint's,
    /// <see cref="TrainingCheckpoint.Read"/>, with some changed). What defines the run must equal the checkpoint's: the model,
    /// schedule, prediction type, loss weighting, class conditioning and label dropout, batch size and accumulation,
    /// flipping, and the seed (null keeps the checkpoint's); every one that differs is named in one error, before anything is
    /// loaded. The rest is applied and recorded in later checkpoints: total steps or epochs, learning rate, warm-up and its
    /// schedule, weight decay, clipping, the moving average's decay and warm-up, device, threads (null keeps the
    /// checkpoint's), checkpoint directory, cadence and count, and sample grid size.
    /// </summary>
    /// <param name="checkpointPath">A checkpoint written by a run.</param>
    /// <param name="data">The run's training data.</param>
    /// <param name="options">The options of the continued run.</param>
    /// <param name="progress">Receives a report after every step.</param>
    /// <param name="cancellationToken">Stops after the current step, writing a checkpoint.</param>
    /// <exception cref="ArgumentException">A setting that defines the run, or the data, differs from the checkpoint's; or the total is below its step.</exception>
    public static TrainingResult Resume(string checkpointPath, ITrainingData data, DdpmTrainerOptions options,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Resume(ResumePlan.Create(checkpointPath, data, options), data, progress, cancellationToken);
    }

    internal static TrainingResult Resume(ResumePlan plan, ITrainingData data, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(data);
        var (manifest, content) = TrainingCheckpoint.Load(plan.Path);
        using (content)
        {
            var trainer = new DdpmTrainer(plan.Options);
            var expected = trainer.ModelConfig(data);
            if (!ResumePlan.SameShape(expected, manifest.Model))
            {
                throw new ArgumentException($"The data ({data.Channels} channels, {data.ImageSize} px, {data.NumClasses?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "no"} classes) does not fit the checkpoint's model ({manifest.Model}).", nameof(data));
            }

            var run = new Run(trainer, data, manifest.Model);
            run.Restore(manifest, content.Tensors, plan.Path);
            return run.Execute(progress, cancellationToken);
        }
    }

    /// <summary>The learning rate of optimiser step <paramref name="step"/> (0-based) out of <paramref name="totalSteps"/>.</summary>
    public double LearningRateAt(long step, long totalSteps)
    {
        var peak = Options.LearningRate;
        if (step < Options.WarmupSteps)
        {
            return peak * (step + 1) / Options.WarmupSteps;
        }

        if (Options.LearningRateSchedule == LearningRateSchedule.Constant || totalSteps <= Options.WarmupSteps)
        {
            return peak;
        }

        var progress = (double)(step - Options.WarmupSteps) / (totalSteps - Options.WarmupSteps);
        return peak * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }

    /// <summary>The model configuration for <paramref name="data"/>: the explicit one, or the preset sized to the data.</summary>
    public UNetConfig ModelConfig(ITrainingData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        int? classes = Options.ClassConditional ? data.NumClasses ?? throw new ArgumentException("ClassConditional needs labelled data.", nameof(data)) : null;
        var config = Options.Model is { } explicitConfig
            ? explicitConfig with { NumClasses = explicitConfig.NumClasses ?? classes }
            : UNetConfig.Preset(Options.ModelPreset, data.ImageSize, data.Channels, classes);
        if (config.ImageSize != data.ImageSize || config.InChannels != data.Channels)
        {
            throw new ArgumentException($"The model takes {config.InChannels}-channel {config.ImageSize} px images but the data has {data.Channels}-channel {data.ImageSize} px images.", nameof(data));
        }

        return config.Validated();
    }

    /// <summary>Total optimiser steps for <paramref name="data"/>.</summary>
    public long TotalSteps(ITrainingData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (Options.Epochs is not { } epochs)
        {
            return Options.MaxSteps;
        }

        var perStep = (long)Options.BatchSize * Options.GradientAccumulationSteps;
        return ((epochs * data.Count) + perStep - 1) / perStep;
    }

    /// <summary>The state of one run: model, optimiser, averages, generators and data position.</summary>
    private sealed class Run
    {
        private readonly DdpmTrainer _trainer;
        private readonly DdpmTrainerOptions _options;
        private readonly ITrainingData _data;
        private readonly UNetConfig _config;
        private readonly Device _device;
        private readonly NoiseSchedule _schedule;
        private readonly DiffusionObjective _objective;
        private readonly long _totalSteps;
        private long _step;
        private long _epoch;
        private long _position;
        private ITrainingPass? _pass;
        private string? _lastCheckpoint;
        private bool _restored;
        private Tensor? _restoredTrainRng;
        private Tensor? _restoredDefaultRng;
        private IReadOnlyDictionary<string, Tensor>? _restoredModel;
        private IReadOnlyDictionary<string, Tensor>? _restoredEma;
        private Dictionary<string, Tensor>? _restoredOptimizer;
        private string? _restoredFrom;

        // What the run records, carried through checkpoints so that a resumed run reports the whole run.
        private readonly List<double> _losses = [];
        private double _smoothed;
        private TimeSpan _elapsedBefore;
        private long _imagesBefore;
        private readonly Stopwatch _clock = new();
        private long _startStep;

        public Run(DdpmTrainer trainer, ITrainingData data, UNetConfig config)
        {
            _trainer = trainer;
            _options = trainer.Options;
            _data = data;
            _config = config;
            _device = Devices.Parse(_options.Device);
            _device.EnsureAvailable();
            if (_options.Threads is { } threads)
            {
                torch.set_num_threads(threads);
            }

            _schedule = new NoiseSchedule(_options.Schedule);
            _objective = new DiffusionObjective(_schedule, _options.PredictionType, _options.LossWeighting, _options.MinSnrGamma);
            _totalSteps = trainer.TotalSteps(data);
        }

        public void Restore(TrainingCheckpoint manifest, IReadOnlyDictionary<string, Tensor> tensors, string path)
        {
            (_step, _epoch, _position, _lastCheckpoint) = (manifest.Step, manifest.Epoch, manifest.Position, path);
            _restoredModel = Prefixed(tensors, "model.");
            _restoredEma = Prefixed(tensors, "ema.");
            _restoredOptimizer = Prefixed(tensors, "optimizer.").ToDictionary(p => p.Key, p => p.Value);
            _restoredTrainRng = tensors.TryGetValue("rng.train", out var train) ? train : throw Missing(path, "rng.train");
            _restoredDefaultRng = tensors.TryGetValue("rng.default", out var global) ? global : throw Missing(path, "rng.default");
            if (tensors.TryGetValue(TrainingCheckpoint.LossHistoryTensor, out var history))
            {
                if (history.dtype != ScalarType.Float64 || history.shape.Length != 1 || history.shape[0] > manifest.Step)
                {
                    throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                        $"Checkpoint '{path}' has a '{TrainingCheckpoint.LossHistoryTensor}' tensor of {history.dtype} [{string.Join(", ", history.shape)}]; expected float64 [n] with n ≤ {manifest.Step}."));
                }

                _losses.AddRange(history.data<double>().ToArray());
                _smoothed = manifest.SmoothedLoss ?? 0;
            }

            // Checkpoints of earlier versions recorded nothing of this: the run's record starts at the resume point.
            _elapsedBefore = TimeSpan.FromSeconds(manifest.ElapsedSeconds ?? 0);
            _imagesBefore = manifest.ImagesTrained ?? 0;
            _restoredFrom = path;
            _restored = true;
        }

        public void StartFrom(UNet2D initial)
        {
            using var scope = torch.NewDisposeScope();
            _restoredModel = initial.state_dict().ToDictionary(p => p.Key, p => p.Value.to(torch.CPU).clone().DetachFromDisposeScope());
        }

        public TrainingResult Execute(IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
        {
            var model = new UNet2D(_config);
            try
            {
                model.to(_device);
                if (_restoredModel is not null)
                {
                    model.LoadStateDict(_restoredModel);
                }

                using var optimizer = AdamWState.Create(model.parameters(), _options.LearningRate, _options.WeightDecay);
                using var ema = new ExponentialMovingAverage(model, _options.EmaDecay);
                using var trainRng = new Generator(_options.Seed!.Value ^ 0x5DEECE66DUL);
                using var defaultRng = torch.Generator.Default;
                if (_restored)
                {
                    AdamWState.Load(optimizer, _restoredOptimizer!);
                    ema.LoadStateDict(_restoredEma!);
                    trainRng.set_state(_restoredTrainRng!);
                    defaultRng.set_state(_restoredDefaultRng!);
                }

                if (_options.CheckpointDirectory is { } directory)
                {
                    // Before step 1: a folder that cannot be written fails now, not at the first checkpoint.
                    IO.OutputFolder.Prepare(directory);
                    CarrySampleGrids(directory);
                }

                _clock.Restart();
                _startStep = _step;
                var completed = true;
                model.train();
                while (_step < _totalSteps)
                {
                    if (cancellationToken.IsCancellationRequested)
                    {
                        completed = false;
                        break;
                    }

                    var learningRate = _trainer.LearningRateAt(_step, _totalSteps);
                    optimizer.SetLearningRate(learningRate);
                    var loss = TrainStep(model, optimizer, trainRng);
                    _step++;
                    if (!double.IsFinite(loss))
                    {
                        throw new TrainingDivergedException(_step, loss, _lastCheckpoint);
                    }

                    ema.Decay = _options.EmaWarmup ? Math.Min(_options.EmaDecay, (1.0 + _step) / (10.0 + _step)) : _options.EmaDecay;
                    ema.Update(model);
                    _losses.Add(loss);
                    _smoothed = (LossSmoothing * _smoothed) + ((1 - LossSmoothing) * loss);
                    if (progress is not null)
                    {
                        var done = _step - _startStep;
                        var elapsed = Elapsed;
                        progress.Report(new TrainingProgress(_step, _totalSteps, _epoch, loss, _smoothed / (1 - Math.Pow(LossSmoothing, _losses.Count)), learningRate,
                            ImagesTrained / Math.Max(elapsed.TotalSeconds, 1e-9), elapsed, _clock.Elapsed / done * (_totalSteps - _step)));
                    }

                    if (_step % _options.CheckpointEvery == 0 && _step < _totalSteps)
                    {
                        WriteCheckpoint(model, optimizer, ema, trainRng, defaultRng);
                    }
                }

                WriteCheckpoint(model, optimizer, ema, trainRng, defaultRng);
                var emaModel = new UNet2D(_config);
                emaModel.to(_device);
                ema.CopyTo(emaModel);
                emaModel.eval();
                var seconds = Elapsed;
                return new TrainingResult(model, emaModel, _schedule, _options, _step, [.. _losses], _lastCheckpoint, completed, seconds,
                    ImagesTrained / Math.Max(seconds.TotalSeconds, 1e-9));
            }
            catch
            {
                model.Dispose();
                throw;
            }
            finally
            {
                _pass?.Dispose();
                _pass = null;
            }
        }

        // Training time and images of the whole run: the parts before the resume point, and this one.
        private TimeSpan Elapsed => _elapsedBefore + _clock.Elapsed;

        private long ImagesTrained => _imagesBefore + ((_step - _startStep) * _options.BatchSize * _options.GradientAccumulationSteps);

        // One optimiser step: GradientAccumulationSteps forward/backward passes, clipping, AdamW. Returns the loss.
        private double TrainStep(UNet2D model, AdamW optimizer, Generator rng)
        {
            var accumulation = _options.GradientAccumulationSteps;
            var total = 0.0;
            model.ZeroGrad();  // not optimizer.zero_grad(), which leaks a tensor per parameter

            for (var micro = 0; micro < accumulation; micro++)
            {
                using var scope = torch.NewDisposeScope();
                var (images, labels) = NextBatch(_options.BatchSize);
                images = images.to(_device);
                var batch = images.size(0);
                if (_options.RandomHorizontalFlip)
                {
                    // Drawn only when flipping is on, so runs without it draw exactly as before.
                    var flip = torch.rand([batch], generator: rng).lt(0.5).to(_device).view(batch, 1, 1, 1);
                    images = torch.where(flip, images.flip(3), images);
                }

                var t = torch.randint(0, _schedule.TrainTimesteps, [batch], ScalarType.Int64, generator: rng);
                var noise = torch.randn(images.shape, generator: rng);
                Tensor? conditioning = null;
                if (model.IsClassConditional)
                {
                    var dropped = torch.rand([batch], generator: rng).lt(_options.LabelDropout);
                    conditioning = torch.where(dropped, torch.full_like(labels!, model.NullLabel!.Value), labels!).to(_device);
                }

                t = t.to(_device);
                var (noisy, target) = _objective.Prepare(images, noise.to(_device), t);
                Tensor loss;
                loss = _objective.Loss(model.Forward(noisy, t, conditioning), target, t);

                if (accumulation > 1)
                {
                    loss /= accumulation;
                }

                try
                {
                    loss.backward();
                }
                catch (ExternalException ex) when (ex.Message.Contains("out of memory", StringComparison.OrdinalIgnoreCase))
                {
                    throw new InvalidOperationException(
                        $"Out of memory on {_device} at step {_step + 1} with batch size {_options.BatchSize}: {ex.Message} Lower BatchSize and raise GradientAccumulationSteps to keep the effective batch.", ex);
                }

                total += loss.ToDouble();
            }

            if (_options.GradientClipNorm > 0 && double.IsFinite(total))
            {
                torch.nn.utils.clip_grad_norm_(model.parameters(), _options.GradientClipNorm);
            }

            if (double.IsFinite(total))
            {
                optimizer.step();
            }

            return total;
        }

        // The next examples in this run's order (ITrainingData.OpenPass: the order of a pass depends only on the seed
        // and the pass number), so resuming needs only the pass and the position in it. A batch may run on into the next pass.
        private (Tensor Images, Tensor? Labels) NextBatch(int count)
        {
            var images = new List<Tensor>();
            var labels = new List<Tensor>();
            var needed = count;
            var emptyPasses = 0;
            while (needed > 0)
            {
                _pass ??= _data.OpenPass(_options.Seed!.Value, _epoch, _position);
                if (_pass.Read(needed) is not var (batchImages, batchLabels))
                {
                    _pass.Dispose();
                    _pass = null;
                    _epoch++;
                    _position = 0;
                    if (++emptyPasses > 1)
                    {
                        throw new InvalidDataException($"The training data gave no examples in pass {_epoch}, though it reports {_data.Count}.");
                    }

                    continue;
                }

                emptyPasses = 0;
                var n = (int)batchImages.size(0);
                images.Add(batchImages);
                if (batchLabels is not null)
                {
                    labels.Add(batchLabels);
                }

                _position += n;
                needed -= n;
            }

            return images.Count == 1
                ? (images[0], labels.Count == 1 ? labels[0] : null)
                : (torch.cat(images, 0), labels.Count == 0 ? null : torch.cat(labels, 0));
        }

        private void WriteCheckpoint(UNet2D model, AdamW optimizer, ExponentialMovingAverage ema, Generator trainRng, Generator defaultRng)
        {
            if (_options.CheckpointDirectory is not { } directory)
            {
                return;
            }

            Directory.CreateDirectory(directory);
            var path = TrainingCheckpoint.PathFor(directory, _step);
            using var scope = torch.NewDisposeScope();
            using var optimizerState = new DisposableDictionary(AdamWState.Save(optimizer));
            var tensors = model.state_dict().Select(p => KeyValuePair.Create("model." + p.Key, p.Value.to(torch.CPU)))
                .Concat(ema.StateDict().Select(p => KeyValuePair.Create("ema." + p.Key, p.Value.to(torch.CPU))))
                .Concat(optimizerState.Values.Select(p => KeyValuePair.Create("optimizer." + p.Key, p.Value.to(torch.CPU))))
                .Append(KeyValuePair.Create("rng.train", trainRng.get_state()))
                .Append(KeyValuePair.Create("rng.default", defaultRng.get_state()))
                .Append(KeyValuePair.Create(TrainingCheckpoint.LossHistoryTensor, torch.tensor(_losses.ToArray(), ScalarType.Float64)))
                .ToList();
            var manifest = new TrainingCheckpoint
            {
                Step = _step, Epoch = _epoch, Position = _position, Options = _options, Model = _config, Threads = torch.get_num_threads(),
                SmoothedLoss = _smoothed, ElapsedSeconds = Elapsed.TotalSeconds, ImagesTrained = ImagesTrained, ExampleCount = _data.Count,
            };
            TrainingCheckpoint.Save(path, manifest, tensors);
            _lastCheckpoint = path;
            WriteSampleGrid(directory, ema);
            foreach (var old in TrainingCheckpoint.List(directory).SkipLast(_options.KeepCheckpoints))
            {
                File.Delete(old);
            }
        }

        // A run resumed into another checkpoint directory brings the sample grids of its steps so far, so that the folder (and
        // the report made from it) covers the whole run. Grids of later steps (from a run that went further before) stay behind.
        private void CarrySampleGrids(string directory)
        {
            if (_restoredFrom is null || Path.GetDirectoryName(Path.GetFullPath(_restoredFrom)) is not { } previous
                || string.Equals(previous, Path.GetFullPath(directory).TrimEnd(Path.DirectorySeparatorChar), StringComparison.Ordinal))
            {
                return;
            }

            foreach (var grid in Directory.GetFiles(previous, "samples-*.png"))
            {
                var name = Path.GetFileName(grid);
                var target = Path.Combine(directory, name);
                if (TrainingReport.GridStep(name) is { } step && step <= _step && !File.Exists(target))
                {
                    File.Copy(grid, target);
                }
            }
        }

        // A grid from the moving average, in a separate model and with its own generators, so that writing it changes
        // nothing in the run (resuming stays exact).
        private void WriteSampleGrid(string directory, ExponentialMovingAverage ema)
        {
            var count = _options.SampleGridSize;
            if (count == 0)
            {
                return;
            }

            // Building a model draws its initial weights from the default generator, which dropout also uses: put
            // the generator back as it was.
            using var defaultRng = torch.Generator.Default;
            using var state = defaultRng.get_state().DetachFromDisposeScope();
            using var model = new UNet2D(_config);
            defaultRng.set_state(state);
            model.to(_device);
            ema.CopyTo(model);
            model.eval();
            using var scope = torch.NewDisposeScope();
            var labels = _config.NumClasses is { } classes
                ? torch.tensor(Enumerable.Range(0, count).Select(i => (long)(i % classes)).ToArray(), device: _device)
                : null;
            var sampler = new DdimSampler(_schedule, new SamplerOptions { PredictionType = _options.PredictionType });
            using var noise = SampleNoise.PerSample(_options.Seed!.Value, count, _device);
            var images = SamplingLoop.Run(sampler, UNetDenoiser.Create(model, labels), [count, _config.InChannels, _config.ImageSize, _config.ImageSize],
                noise, Math.Min(50, _schedule.TrainTimesteps));
            var columns = _config.NumClasses ?? (int)Math.Ceiling(Math.Sqrt(count));
            ImageGrid.SaveGrid(images, Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $"samples-{_step:D8}.png")), Math.Min(columns, count));
        }

        private static Dictionary<string, Tensor> Prefixed(IReadOnlyDictionary<string, Tensor> tensors, string prefix) =>
            tensors.Where(p => p.Key.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(p => p.Key[prefix.Length..], p => p.Value);

        private static InvalidDataException Missing(string path, string name) => new($"Checkpoint '{path}' has no '{name}' tensor.");
    }

    private sealed class DisposableDictionary(Dictionary<string, Tensor> values) : IDisposable
    {
        public Dictionary<string, Tensor> Values { get; } = values;

        public void Dispose()
        {
            foreach (var t in Values.Values)
            {
                t.Dispose();
            }
        }
    }
}
