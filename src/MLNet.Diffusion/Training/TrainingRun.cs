using System.Diagnostics;
using System.Runtime.InteropServices;
using MLNet.Diffusion.Engine;
using MLNet.Diffusion.ForwardProcess;
using MLNet.Diffusion.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Training;

/// <summary>
/// One training run of a <see cref="DdpmTrainer"/>: the network, optimiser, moving average and generators, the position in
/// the data, and what the run records (losses, time, images), from the first step or from a checkpoint to the last step.
/// </summary>
internal sealed class TrainingRun : IDisposable
{
    private readonly DdpmTrainer _trainer;
    private readonly DdpmTrainerOptions _options;
    private readonly ITrainingData _data;
    private readonly UNetConfig _config;
    private readonly Device _device;
    private readonly NoiseSchedule _schedule;
    private readonly DiffusionObjective _objective;
    private readonly long _totalSteps;
    private readonly CheckpointWriter? _checkpoints;
    private readonly SampleGridWriter _grids;
    private long _step;
    private long _epoch;
    private long _position;
    private ITrainingPass? _pass;
    private string? _lastCheckpoint;
    private RestoredState? _restored;
    private IReadOnlyDictionary<string, Tensor>? _initialWeights;
    private TrainingEvaluator? _evaluator;
    private bool _evaluationCostReported;
    private TrainingProgress? _lastProgress;

    // What the run records, carried through checkpoints so that a resumed run reports the whole run.
    private readonly List<double> _losses = [];
    private readonly List<double> _learningRates = [];
    private readonly Stopwatch _clock = new();
    private long _startStep;

    /// <summary>Sets up a run of <paramref name="trainer"/> on <paramref name="data"/> with a network of <paramref name="config"/>.</summary>
    public TrainingRun(DdpmTrainer trainer, ITrainingData data, UNetConfig config)
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
        _checkpoints = _options.CheckpointDirectory is { } directory ? new CheckpointWriter(directory, _options.KeepCheckpoints) : null;
        _grids = new SampleGridWriter(_config, _device, _schedule, _options);
    }

    /// <summary>Continues from <paramref name="state"/>, read from a checkpoint; its tensors must live until the run ends.</summary>
    public void Restore(RestoredState state)
    {
        (_step, _epoch, _position, _lastCheckpoint) = (state.Step, state.Epoch, state.Position, state.Path);
        _losses.AddRange(state.Losses);
        _learningRates.AddRange(state.LearningRates);
        _restored = state;
    }

    /// <summary>Starts the network and the moving average from <paramref name="initial"/>'s weights (fine-tuning).</summary>
    public void StartFrom(UNet2D initial)
    {
        using var scope = torch.NewDisposeScope();
        _initialWeights = initial.state_dict().ToDictionary(p => p.Key, p => p.Value.to(torch.CPU).clone().DetachFromDisposeScope());
    }

    /// <summary>Trains until the run's last step or until <paramref name="cancellationToken"/> stops it, then writes a checkpoint.</summary>
    public TrainingResult Execute(IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        var model = new UNet2D(_config);
        try
        {
            model.to(_device);
            if ((_restored?.Model ?? _initialWeights) is { } weights)
            {
                model.LoadStateDict(weights);
            }

            using var optimizer = AdamWState.Create(model.parameters(), _options.LearningRate, _options.WeightDecay);
            using var ema = new ExponentialMovingAverage(model, _options.EmaDecay);
            using var trainRng = new Generator(_options.Seed!.Value ^ 0x5DEECE66DUL);
            using var defaultRng = torch.Generator.Default;
            if (_restored is { } restored)
            {
                AdamWState.Load(optimizer, restored.Optimizer);
                ema.LoadStateDict(restored.Ema);
                trainRng.set_state(restored.TrainRng);
                defaultRng.set_state(restored.DefaultRng);
            }

            if (_checkpoints is not null)
            {
                // Before step 1: a folder that cannot be written fails now, not at the first checkpoint.
                IO.OutputFolder.Prepare(_checkpoints.DirectoryPath);
                SampleGridWriter.CarryOver(_restored?.Path, _checkpoints.DirectoryPath, _step);
                CarryOverBestModel();
            }

            if (_options.WarmupSteps > _totalSteps && _step < _totalSteps)
            {
                // The rate rises for WarmupSteps steps: a run shorter than that never trains at the rate it was given.
                Report(progress, string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"Warning: WarmupSteps ({_options.WarmupSteps}) is more than the run's {_totalSteps} steps, so the learning rate never reaches {_options.LearningRate:G3}: it ends at {_trainer.LearningRateAt(_totalSteps - 1, _totalSteps):G3}. Lower WarmupSteps (TrainingRecipes.Default scales it with the run's length), or train longer."));
            }

            if (_options.EvaluateEvery > 0)
            {
                // Before step 1 too: a missing feature network fails now, and the fixed training images are featurized once.
                // Points of another count or feature network are on another scale: a changed setting starts the curve again.
                var curve = _restored is { } r && r.EvaluationSettings == (_options.EvaluationCount, _options.EvaluationFeatures) ? r.Evaluations : [];
                if (_restored is { Evaluations.Count: > 0 } && curve.Count == 0)
                {
                    Report(progress, "evaluation: the images per evaluation or the feature network changed on resume, so the curve starts again (its earlier points are not comparable)");
                }

                _evaluator = new TrainingEvaluator(_options, _config, _device, _schedule, _data, curve);
                Report(progress, string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"evaluation: {_evaluator.ReferenceCount} training images featurized in {_evaluator.ReferenceSeconds:F1} s through {_evaluator.FeatureName}"));
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
                _learningRates.Add(learningRate);
                if (progress is not null)
                {
                    var done = _step - _startStep;
                    var elapsed = Elapsed;
                    var window = LossWindow.Size(_totalSteps);
                    _lastProgress = new TrainingProgress(_step, _totalSteps, _epoch, loss, LossWindow.Mean(_losses, window), learningRate,
                        ImagesTrained / Math.Max(elapsed.TotalSeconds, 1e-9), elapsed, _clock.Elapsed / done * (_totalSteps - _step), window);
                    progress.Report(_lastProgress);
                }

                if (_evaluator is not null && (_step % _options.EvaluateEvery == 0 || _step == _totalSteps))
                {
                    Evaluate(ema, progress);
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
                ImagesTrained / Math.Max(seconds.TotalSeconds, 1e-9))
            {
                Evaluations = [.. Evaluations],
                LearningRates = [.. _learningRates],
                TotalSteps = _totalSteps,
                Device = _device.ToString(),
                Threads = torch.get_num_threads(),
            };
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
            _evaluator?.Dispose();
            _evaluator = null;
        }
    }

    /// <summary>Releases the evaluation's feature network if <see cref="Execute"/> did not.</summary>
    public void Dispose()
    {
        _evaluator?.Dispose();
        _evaluator = null;
    }

    // The curve so far: this run's evaluator's, or (when this part of the run does not evaluate) the restored one.
    private IReadOnlyList<TrainingEvaluation> Evaluations => _evaluator?.Curve ?? _restored?.Evaluations ?? [];

    private string? BestModelPath => _checkpoints is null ? null : Path.Combine(_checkpoints.DirectoryPath, TrainingEvaluator.BestModelFileName);

    // Evaluates the moving average now; before this process's first evaluation, says what evaluations will cost. The best so
    // far becomes best.zip through the front door's model writer.
    private void Evaluate(ExponentialMovingAverage ema, IProgress<TrainingProgress>? progress)
    {
        UNet2D? network = ema.ToNetwork(_config, _device);
        try
        {
            if (!_evaluationCostReported)
            {
                _evaluationCostReported = true;
                var estimate = _evaluator!.EstimateSeconds(network);
                Report(progress, _evaluator.CostLine(estimate, _clock.Elapsed.TotalSeconds / Math.Max(1, _step - _startStep), out _));
            }

            var previousBest = _evaluator!.Curve.Count == 0 ? double.PositiveInfinity : _evaluator.Curve.Min(e => e.Kid);
            var point = _evaluator.Evaluate(_step, network);
            var best = point.Kid < previousBest;
            var path = best ? BestModelPath : null;
            if (path is not null && TrainingEvaluator.SaveModel is { } save)
            {
                var seconds = Elapsed;
                save(path, network, _options, _step, _losses, LossWindow.Size(_totalSteps), seconds, ImagesTrained / Math.Max(seconds.TotalSeconds, 1e-9));
                network = null;  // the model written owns it now
            }

            Report(progress, string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"evaluation at step {_step}: KID {point.Kid:F5}{(Metrics.KidEstimate.HasSpreadOf(point.Kid, point.KidStandardDeviation) ? $" ± {point.KidStandardDeviation:F5}" : string.Empty)} ({point.Seconds:F1} s)") +
                (best ? path is not null ? $", the best so far: {path}" : ", the best so far" : string.Empty));
        }
        finally
        {
            network?.Dispose();
        }
    }

    private void Report(IProgress<TrainingProgress>? progress, string message)
    {
        if (progress is not null)
        {
            var last = _lastProgress ?? new TrainingProgress(_step, _totalSteps, _epoch, double.NaN, double.NaN, double.NaN, 0, Elapsed, TimeSpan.Zero, LossWindow.Size(_totalSteps));
            progress.Report(last with { Message = message });
        }
    }

    // A run resumed into another checkpoint directory brings its best model along (a later, better one replaces it).
    private void CarryOverBestModel()
    {
        if (_restored?.Path is { } resumedFrom && Path.GetDirectoryName(Path.GetFullPath(resumedFrom)) is { } previous
            && Path.Combine(previous, TrainingEvaluator.BestModelFileName) is var source && File.Exists(source)
            && BestModelPath is { } target && !File.Exists(target))
        {
            IO.AtomicFile.Write(target, File.ReadAllBytes(source));
        }
    }

    // Training time and images of the whole run: the parts before the resume point, and this one.
    private TimeSpan Elapsed => (_restored?.Elapsed ?? TimeSpan.Zero) + _clock.Elapsed;

    private long ImagesTrained => (_restored?.ImagesTrained ?? 0) + ((_step - _startStep) * _options.ImagesPerStep);

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
                // Drawn only when flipping is on, so a run without it draws nothing here and its random stream is not shifted.
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
            AdamWState.Step(optimizer);
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

    // A checkpoint, then its sample grid, then pruning, all in one dispose scope: the grid's temporaries go with the checkpoint's.
    private void WriteCheckpoint(UNet2D model, AdamW optimizer, ExponentialMovingAverage ema, Generator trainRng, Generator defaultRng)
    {
        if (_checkpoints is null)
        {
            return;
        }

        using var scope = torch.NewDisposeScope();
        var manifest = new TrainingCheckpoint
        {
            Step = _step, Epoch = _epoch, Position = _position, Options = _options, Model = _config, Threads = torch.get_num_threads(),
            ElapsedSeconds = Elapsed.TotalSeconds, ImagesTrained = ImagesTrained, ExampleCount = _data.Count,
            Evaluations = Evaluations.Count == 0 ? null : [.. Evaluations],
        };
        _lastCheckpoint = _checkpoints.Write(manifest, model, optimizer, ema, trainRng, defaultRng, _losses, _learningRates);
        _grids.Write(_checkpoints.DirectoryPath, _step, ema);
        _checkpoints.Prune();
    }
}
