using MLNet.Diffusion.Engine;
using MLNet.Diffusion.IO;
using MLNet.Diffusion.Models;
using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.Training;
using MLNet.Diffusion.Tests.Engine;
using MLNet.Diffusion.ForwardProcess;
using MLNet.Diffusion.Sampling;
using MLNet.Diffusion.Images;
using System.Globalization;

namespace MLNet.Diffusion.Tests.Training;

[TestClass]
public sealed class DdpmTrainerTests
{
    public TestContext TestContext { get; set; } = null!;

    private string NewDirectory()
    {
        var path = Path.Combine(TestContext.TestRunDirectory ?? Path.GetTempPath(), "trainer-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }

    // Four 8×8 patterns in {−1, 1}: stripes, checkerboard, a square, a cross.
    private static TensorTrainingData Patterns(int count = 4, bool withNaN = false)
    {
        var data = new float[count * 64];
        for (var n = 0; n < count; n++)
        {
            for (var y = 0; y < 8; y++)
            {
                for (var x = 0; x < 8; x++)
                {
                    var on = (n % 4) switch
                    {
                        0 => y % 2 == 0,
                        1 => (x + y) % 2 == 0,
                        2 => x is >= 2 and < 6 && y is >= 2 and < 6,
                        _ => x == 3 || y == 4,
                    };
                    data[(n * 64) + (y * 8) + x] = on ? 1 : -1;
                }
            }
        }

        if (withNaN)
        {
            data[5] = float.NaN;
        }

        using var images = torch.tensor(data, [count, 1, 8, 8]);
        using var labels = torch.tensor(Enumerable.Range(0, count).Select(i => (long)(i % 4)).ToArray());
        return new TensorTrainingData(images, labels, numClasses: 4);
    }

    private static DdpmTrainerOptions Small(long steps) => new()
    {
        Model = UNetConfig.Preset("tiny", 8, 1) with { Dropout = 0.1 },
        Schedule = new NoiseScheduleOptions { Kind = BetaScheduleKind.Cosine, TrainTimesteps = 100 },
        BatchSize = 4,
        MaxSteps = steps,
        WarmupSteps = 5,
        LearningRate = 2e-3,
        Device = "cpu",
        Seed = 42,
        SampleGridSize = 0,
    };

    [TestMethod]
    public void Train_AFewImages_MemorisesThem()
    {
        using var data = Patterns();
        // Batch 16 (the four patterns four times) on one thread: at this size a step costs libtorch's per-operation
        // overhead, which a second OpenMP thread only adds to (1,500 steps of batch 64 on 2 threads took 3 minutes and
        // memorised no better: every sample within 0.001 either way).
        var options = Small(800) with
        {
            Model = UNetConfig.Preset("tiny", 8, 1), EmaDecay = 0.99, WarmupSteps = 50, LearningRateSchedule = LearningRateSchedule.Cosine,
            BatchSize = 16, Threads = 1,
        };
        var threads = torch.get_num_threads();  // Threads is process-wide: the tests after this one keep theirs
        TrainingResult result;
        try
        {
            result = new DdpmTrainer(options).Train(data);
        }
        finally
        {
            torch.set_num_threads(threads);
        }

        using var trained = result;
        var first = result.Losses.Take(20).Average();
        var last = result.Losses.TakeLast(50).Average();
        Console.WriteLine($"loss {first:F4} -> {last:F4} over {result.Steps} steps, {result.ImagesPerSecond:F0} images/s");
        Assert.IsTrue(last < first / 10, $"loss fell from {first:F4} to {last:F4}, less than 10×");

        // Samples from the averaged model (DDPM's ancestral sampler over all 100 steps) land on one of the four
        // patterns.
        using var scope = torch.NewDisposeScope();
        using var noise = SamplingNoise.PerSample(firstSeed: 1, count: 8);
        var sampler = new DdpmSampler(result.Schedule);
        var samples = SamplingLoop.Run(sampler, UNetDenoiser.Create(result.EmaModel), [8, 1, 8, 8], noise, 100);

        var (images, _) = data.GetBatch([0, 1, 2, 3]);
        var distances = Enumerable.Range(0, 8).Select(i => Enumerable.Range(0, 4).Min(j => (samples[i] - images[j]).square().mean().ToDouble())).ToArray();
        Console.WriteLine("distances: " + string.Join(", ", distances.Select(d => d.ToString("F3", System.Globalization.CultureInfo.InvariantCulture))));
        for (var i = 0; i < 8; i++)
        {
            var nearest = distances[i];
            Assert.IsTrue(nearest < 0.05, $"sample {i} is {nearest:F3} (mean squared) from the nearest training image");
        }
    }

    [TestMethod]
    public void WarmupLongerThanTheRun_IsReportedOnceBeforeStep1_WithTheRateItReaches()
    {
        using var data = Patterns();
        var reports = new List<TrainingProgress>();
        using var result = new DdpmTrainer(Small(3) with { WarmupSteps = 10, LearningRate = 1e-3 }).Train(data, new Synchronous(reports.Add));
        var warnings = reports.Where(r => r.Message is not null).ToList();
        Assert.HasCount(1, warnings);
        Assert.AreEqual("Warning: WarmupSteps (10) is more than the run's 3 steps, so the learning rate never reaches 0.001: it ends at 0.0003. " +
            "Lower WarmupSteps (TrainingRecipes.Default scales it with the run's length), or train longer.", warnings[0].Message);
        Assert.AreSame(warnings[0], reports[0], "before step 1");
        CollectionAssert.AreEqual(new long[] { 1, 2, 3 }, reports.Skip(1).Select(r => r.Step).ToArray());
        using var enough = new DdpmTrainer(Small(3) with { WarmupSteps = 3 }).Train(data, new Synchronous(reports.Add));
        Assert.HasCount(1, reports.Where(r => r.Message is not null), "a warm-up the run completes says nothing");
    }

    [TestMethod]
    public void EvaluateEvery_DrawsTheCurve_KeepsBestZip_AndChangesNothingInTheRun()
    {
        using var data = Patterns(6);
        var plain = Small(20) with { CheckpointDirectory = NewDirectory(), CheckpointEvery = 10 };
        var evaluated = plain with { CheckpointDirectory = NewDirectory(), EvaluateEvery = 10, EvaluationCount = 8 };
        using var without = new DdpmTrainer(plain).Train(data);
        var messages = new List<string>();
        using var with = new DdpmTrainer(evaluated).Train(data, new Synchronous(p => messages.Add(p.Message ?? "")));
        foreach (var (name, tensor) in without.EmaModel.state_dict())
        {
            CollectionAssert.AreEqual(tensor.ToBytes(), with.EmaModel.state_dict()[name].ToBytes(), $"evaluation changed the EMA of {name}");
        }

        CollectionAssert.AreEqual(new long[] { 10, 20 }, with.Evaluations.Select(e => e.Step).ToArray());
        Assert.IsTrue(with.Evaluations.All(e => double.IsFinite(e.Kid) && e.Seconds > 0), string.Join(", ", with.Evaluations));
        Assert.IsEmpty(without.Evaluations);
        messages.RemoveAll(m => m.Length == 0);
        Console.WriteLine(string.Join("\n", messages));
        StringAssert.StartsWith(messages[0], "evaluation: 6 training images featurized in ");
        StringAssert.Contains(messages[0], "ResNet-18");
        StringAssert.StartsWith(messages[1], "evaluation: about ");
        StringAssert.Contains(messages[1], "8 images, DPM-Solver++ 20 steps, KID against 6 training images");
        StringAssert.StartsWith(messages[2], "evaluation at step 10: KID ");
        StringAssert.Contains(messages[2], $"the best so far: {Path.Combine(evaluated.CheckpointDirectory!, "best.zip")}");
        Assert.HasCount(4, messages);

        // best.zip is a model file of the lowest KID's step, kept beside the checkpoints.
        var bestStep = with.Evaluations.MinBy(e => e.Kid)!.Step;
        using (var best = DiffusionModel.Load(Path.Combine(evaluated.CheckpointDirectory!, "best.zip"), "cpu"))
        {
            Assert.AreEqual(bestStep, best.Training!.Steps);
        }

        // Checkpoints carry the curve; resuming from step 10 evaluates again at 20 and gives the same run and the same curve.
        var middle = TrainingCheckpoint.PathFor(evaluated.CheckpointDirectory!, 10);
        Assert.HasCount(1, TrainingCheckpoint.Read(middle).Evaluations!);
        using var resumed = DdpmTrainer.Resume(middle, data);
        foreach (var (name, tensor) in with.EmaModel.state_dict())
        {
            CollectionAssert.AreEqual(tensor.ToBytes(), resumed.EmaModel.state_dict()[name].ToBytes(), $"EMA of {name} after resuming");
        }

        CollectionAssert.AreEqual(with.Evaluations.Select(e => (e.Step, e.Kid)).ToArray(), resumed.Evaluations.Select(e => (e.Step, e.Kid)).ToArray());

        // Another count measures against other images, on another scale: the curve starts again rather than mixing the two.
        using var recounted = DdpmTrainer.Resume(middle, data, TrainingCheckpoint.Read(middle).Options with { EvaluationCount = 6 });
        CollectionAssert.AreEqual(new long[] { 20 }, recounted.Evaluations.Select(e => e.Step).ToArray(), string.Join(", ", recounted.Evaluations));

        // The report draws the curve.
        var report = Path.Combine(evaluated.CheckpointDirectory!, "report.html");
        TrainingReport.Write(report, resumed);
        var html = File.ReadAllText(report);
        StringAssert.Contains(html, "<h2>Evaluation</h2>");
        StringAssert.Contains(html, "aria-label=\"evaluation: KID\"");
        StringAssert.Contains(html, string.Create(CultureInfo.InvariantCulture, $"Best: step {bestStep:N0}"));
    }

    [TestMethod]
    public void Resume_IsBitIdenticalToAnUninterruptedRun()
    {
        using var data = Patterns(6);
        var options = Small(20) with { CheckpointDirectory = NewDirectory(), CheckpointEvery = 10, ClassConditional = true, GradientAccumulationSteps = 2, BatchSize = 3, SampleGridSize = 8 };
        using var straight = new DdpmTrainer(options).Train(data);
        var middle = TrainingCheckpoint.PathFor(options.CheckpointDirectory!, 10);
        Assert.IsTrue(File.Exists(middle));
        // A sample grid is written beside each checkpoint (without disturbing the run): 4 classes × 2 rows of 8×8 cells.
        var grid = MLNet.Diffusion.Images.ImageCodec.Load(Path.Combine(options.CheckpointDirectory!, "samples-00000010.png"));
        Assert.AreEqual((2 + (4 * 10), 2 + (2 * 10)), (grid.Width, grid.Height));

        using var resumed = DdpmTrainer.Resume(middle, data);
        Assert.AreEqual(20, resumed.Steps);
        CollectionAssert.AreEqual(straight.Losses.ToArray(), resumed.Losses.ToArray(), "the loss sequence, steps 1 to 20");
        foreach (var (name, tensor) in straight.Model.state_dict())
        {
            CollectionAssert.AreEqual(tensor.ToBytes(), resumed.Model.state_dict()[name].ToBytes(), $"weights of {name}");
        }

        foreach (var (name, tensor) in straight.EmaModel.state_dict())
        {
            CollectionAssert.AreEqual(tensor.ToBytes(), resumed.EmaModel.state_dict()[name].ToBytes(), $"EMA of {name}");
        }
    }

    [TestMethod]
    public void Resume_AtTheEndOfAPass_ContinuesWithTheNextPass()
    {
        using var data = Patterns(4);  // one step of batch 4 is one whole pass
        var options = Small(4) with { CheckpointDirectory = NewDirectory(), CheckpointEvery = 2 };
        using var straight = new DdpmTrainer(options).Train(data);
        using var resumed = DdpmTrainer.Resume(TrainingCheckpoint.PathFor(options.CheckpointDirectory!, 2), data);
        CollectionAssert.AreEqual(straight.Losses.ToArray(), resumed.Losses.ToArray());
    }

    [TestMethod]
    public void Checkpoint_GivenAsAModel_IsNamedAsACheckpoint()
    {
        // A checkpoint is not a model file, and is not a damaged one either: the message says what it is and what reads it.
        using var data = Patterns(4);
        var options = Small(1) with { CheckpointDirectory = NewDirectory(), CheckpointEvery = 1 };
        using (new DdpmTrainer(options).Train(data))
        {
        }

        var checkpoint = TrainingCheckpoint.PathFor(options.CheckpointDirectory!, 1);
        Assert.IsTrue(TrainingCheckpoint.IsCheckpointFile(checkpoint));
        Assert.IsFalse(TrainingCheckpoint.IsCheckpointFile(checkpoint + ".missing"));
        var message = Assert.ThrowsExactly<InvalidDataException>(() => DiffusionModel.Load(checkpoint, "cpu")).Message;
        Assert.AreEqual($"'{checkpoint}' is not a valid model: it is a training checkpoint (TrainingCheckpoint), not a model file: " +
            "DiffusionModel.FromCheckpoint makes a model of its moving-average weights, and DdpmTrainer.Resume continues its run.", message);
        Assert.DoesNotContain("damaged", message);
    }

    [TestMethod]
    public void Resume_ReportsTheWholeRun_LikeAStraightRun()
    {
        using var data = Patterns(6);
        var options = Small(20) with { CheckpointDirectory = NewDirectory(), CheckpointEvery = 10, ClassConditional = true, SampleGridSize = 4 };
        using var straight = new DdpmTrainer(options).Train(data);
        var middle = TrainingCheckpoint.PathFor(options.CheckpointDirectory!, 10);
        var atMiddle = TrainingCheckpoint.Read(middle);
        Assert.AreEqual(10, atMiddle.Step);

        // Resumed into another folder, which gets the grids of the steps before the resume point.
        var moved = Path.Combine(NewDirectory(), "moved");
        using var resumed = DdpmTrainer.Resume(middle, data, atMiddle.Options with { CheckpointDirectory = moved });
        CollectionAssert.AreEqual(straight.Losses.ToArray(), resumed.Losses.ToArray(), "the losses of steps 1 to 20");
        using var straightModel = DiffusionModel.FromTraining(straight);
        using var resumedModel = DiffusionModel.FromTraining(resumed);
        var (a, b) = (straightModel.Training!, resumedModel.Training!);
        Console.WriteLine($"straight: {a}\nresumed:  {b}");
        Assert.AreEqual(a with { Seconds = 0, ImagesPerSecond = 0 }, b with { Seconds = 0, ImagesPerSecond = 0 }, "steps, batch, final loss and seed");
        Assert.AreEqual(20, b.Steps);

        // Time adds up over the parts, and the throughput is all images over all of it.
        Assert.IsTrue(atMiddle.ElapsedSeconds > 0 && resumed.Elapsed.TotalSeconds > atMiddle.ElapsedSeconds, $"{resumed.Elapsed.TotalSeconds} s after {atMiddle.ElapsedSeconds} s");
        Assert.AreEqual(20 * 4, resumed.ImagesPerSecond * resumed.Elapsed.TotalSeconds, 1e-6, "images/s × seconds = 20 steps of 4 images");
        Assert.AreEqual(10 * 4L, atMiddle.ImagesTrained);

        var html = TrainingReport.Render(resumed);
        var points = html[(html.IndexOf("points=\"", StringComparison.Ordinal) + 8)..].Split('"')[0].Split(' ');
        Assert.AreEqual(20, points.Length, "one point per step of the whole run");
        StringAssert.Contains(html, "text-anchor=\"middle\">20</text>", "the step axis ends at step 20");
        Assert.AreEqual(2, html.Split("data:image/png;base64,").Length - 1, "the grids of steps 10 (carried over) and 20");
        Assert.AreEqual(TrainingReport.Render(straight).Split("<h2>Loss</h2>")[1].Split("</svg>")[0], html.Split("<h2>Loss</h2>")[1].Split("</svg>")[0], "the same curve");
    }

    [TestMethod]
    public void Resume_WithOptions_AppliesWhatMayChangeAndRecordsIt()
    {
        using var data = Patterns(4);
        var first = NewDirectory();
        var options = Small(6) with { CheckpointDirectory = first, CheckpointEvery = 3 };
        using (new DdpmTrainer(options).Train(data))
        {
        }

        var second = Path.Combine(NewDirectory(), "second");
        var reports = new List<TrainingProgress>();
        var changed = options with { MaxSteps = 8, LearningRate = 1e-4, WarmupSteps = 0, CheckpointDirectory = second, CheckpointEvery = 4, Seed = null };
        using var resumed = DdpmTrainer.Resume(TrainingCheckpoint.PathFor(first, 3), data, changed, new Synchronous(reports.Add));
        Assert.AreEqual(8, resumed.Steps);
        CollectionAssert.AreEqual(new[] { 1e-4, 1e-4, 1e-4, 1e-4, 1e-4 }, reports.Select(r => r.LearningRate).ToArray(), "steps 4 to 8 at the new rate, without warm-up");
        CollectionAssert.AreEqual(
            new[] { TrainingCheckpoint.PathFor(second, 4), TrainingCheckpoint.PathFor(second, 8) }, TrainingCheckpoint.List(second).ToArray(),
            "checkpoints go to the new directory, at the new cadence");
        Assert.IsFalse(File.Exists(TrainingCheckpoint.PathFor(first, 8)));
        var recorded = TrainingCheckpoint.Read(TrainingCheckpoint.PathFor(second, 8)).Options;
        Assert.AreEqual((1e-4, 8L, second, 4, 42UL), (recorded.LearningRate, recorded.MaxSteps, recorded.CheckpointDirectory, recorded.CheckpointEvery, recorded.Seed));
    }

    [TestMethod]
    public void Resume_WithOptionsThatDefineTheRun_RefusesThemAllBeforeAnyWork()
    {
        using var data = Patterns(4);
        var directory = NewDirectory();
        var options = Small(3) with { CheckpointDirectory = directory, CheckpointEvery = 3 };
        using (new DdpmTrainer(options).Train(data))
        {
        }

        var checkpoint = TrainingCheckpoint.PathFor(directory, 3);
        var before = File.ReadAllBytes(checkpoint);
        var reports = new List<TrainingProgress>();
        var changed = options with { MaxSteps = 6, BatchSize = 3, Seed = 7, PredictionType = PredictionType.VPrediction, LearningRate = 1e-4 };
        var error = Assert.ThrowsExactly<ArgumentException>(() => DdpmTrainer.Resume(checkpoint, data, changed, new Synchronous(reports.Add)));
        StringAssert.Contains(error.Message, "BatchSize is 4 in the checkpoint but 3 in the options");
        StringAssert.Contains(error.Message, "Seed is 42 in the checkpoint but 7 in the options");
        StringAssert.Contains(error.Message, "PredictionType is Epsilon in the checkpoint but VPrediction in the options");
        Assert.IsFalse(error.Message.Contains("LearningRate", StringComparison.Ordinal), "the learning rate may change");

        using var more = Patterns(8);
        var dataError = Assert.ThrowsExactly<ArgumentException>(() => DdpmTrainer.Resume(checkpoint, more, options with { MaxSteps = 6 }));
        StringAssert.Contains(dataError.Message, "the data has 8 examples but the run had 4");
        var shortError = Assert.ThrowsExactly<ArgumentException>(() => DdpmTrainer.Resume(checkpoint, data, options with { MaxSteps = 2 }));
        StringAssert.Contains(shortError.Message, "the run has done 3 already");

        Assert.AreEqual(0, reports.Count, "no step was trained");
        CollectionAssert.AreEqual(before, File.ReadAllBytes(checkpoint));
        CollectionAssert.AreEqual(new[] { checkpoint }, TrainingCheckpoint.List(directory).ToArray());
    }

    [TestMethod]
    public void ClassNamesAndPixelEncoding_AreRecordedInCheckpointsAndTheModel_AndKeptOnResume()
    {
        using var data = Patterns(4);
        var directory = NewDirectory();
        var names = new[] { "stripes", "checks", "square", "cross" };
        var encoding = new PixelEncoding(PixelColors.Gray, 127.5f, 1 / 127.5f, ImageResizeMode.IsoCrop);
        var options = Small(3) with { ClassConditional = true, CheckpointDirectory = directory, CheckpointEvery = 3, ClassNames = names, PixelEncoding = encoding };
        using (var result = new DdpmTrainer(options).Train(data))
        using (var model = DiffusionModel.FromTraining(result))
        {
            CollectionAssert.AreEqual(names, model.ClassNames!.ToArray());
            Assert.AreEqual(encoding, model.Preprocessing);
        }

        var checkpoint = TrainingCheckpoint.PathFor(directory, 3);
        var recorded = TrainingCheckpoint.Read(checkpoint).Options;
        CollectionAssert.AreEqual(names, recorded.ClassNames!.ToArray());
        Assert.AreEqual(encoding, recorded.PixelEncoding);

        // A resume given no names keeps the checkpoint's; other names mean other data, refused like any change that defines the run.
        using (var resumed = DdpmTrainer.Resume(checkpoint, data, options with { MaxSteps = 4, ClassNames = null, PixelEncoding = null }))
        {
            CollectionAssert.AreEqual(names, resumed.Options.ClassNames!.ToArray());
        }

        var renamed = Assert.ThrowsExactly<ArgumentException>(() => DdpmTrainer.Resume(checkpoint, data, options with { MaxSteps = 5, ClassNames = ["a", "b", "c", "d"] }));
        StringAssert.Contains(renamed.Message, "ClassNames is stripes, checks, square, cross in the checkpoint but a, b, c, d in the options");

        // Names that cannot name the classes are refused before the first step.
        var error = Assert.ThrowsExactly<ArgumentException>(() => new DdpmTrainer(Small(1) with { ClassConditional = true, ClassNames = ["one", "two"] }).Train(data));
        StringAssert.Contains(error.Message, "2 names for 4 classes");
    }

    [TestMethod]
    public void ExcludedFiles_AreRecordedInCheckpoints_AndAResumeMustGiveTheSameOnes()
    {
        using var data = Patterns(4);
        var directory = NewDirectory();
        var options = Small(3) with { CheckpointDirectory = directory, CheckpointEvery = 3, ExcludedFiles = ["b/half.png", "a/notes.png"] };
        using (new DdpmTrainer(options).Train(data))
        {
        }

        var checkpoint = TrainingCheckpoint.PathFor(directory, 3);
        CollectionAssert.AreEqual(new[] { "b/half.png", "a/notes.png" }, TrainingCheckpoint.Read(checkpoint).Options.ExcludedFiles!.ToArray());

        // The same files in another order are the same rows; other files (or none) are other rows, refused like any change that defines the run.
        using (var resumed = DdpmTrainer.Resume(checkpoint, data, options with { MaxSteps = 4, ExcludedFiles = ["a/notes.png", "b/half.png"] }))
        {
            Assert.AreEqual(4L, resumed.Steps);
        }

        var fewer = Assert.ThrowsExactly<ArgumentException>(() => DdpmTrainer.Resume(checkpoint, data, options with { MaxSteps = 5, ExcludedFiles = ["a/notes.png"] }));
        StringAssert.Contains(fewer.Message, "ExcludedFiles is 'a/notes.png', 'b/half.png' in the checkpoint but 'a/notes.png' in the options");
        var none = Assert.ThrowsExactly<ArgumentException>(() => DdpmTrainer.Resume(checkpoint, data, options with { MaxSteps = 5, ExcludedFiles = null }));
        StringAssert.Contains(none.Message, "ExcludedFiles is 'a/notes.png', 'b/half.png' in the checkpoint but none in the options");
    }

    [TestMethod]
    public void Resume_WithTheCheckpointsOptions_GoesOnInTheFolderOfTheCheckpoint()
    {
        // The directory a checkpoint records may be relative to another working directory, or moved since.
        using var data = Patterns(4);
        var first = NewDirectory();
        using (new DdpmTrainer(Small(2) with { CheckpointDirectory = first, CheckpointEvery = 2 }).Train(data))
        {
        }

        var moved = NewDirectory();
        File.Move(TrainingCheckpoint.PathFor(first, 2), TrainingCheckpoint.PathFor(moved, 2));
        using var resumed = DdpmTrainer.Resume(TrainingCheckpoint.PathFor(moved, 2), data, maxSteps: 3);
        Assert.AreEqual(TrainingCheckpoint.PathFor(moved, 3), resumed.LastCheckpoint);
        Assert.AreEqual(0, TrainingCheckpoint.List(first).Count);
    }

    [TestMethod]
    public void Train_UnwritableCheckpointDirectory_FailsBeforeTheFirstStepNamingIt()
    {
        using var data = Patterns();
        var file = Path.Combine(NewDirectory(), "not-a-folder");
        File.WriteAllText(file, "a file");
        var directory = Path.Combine(file, "checkpoints");
        var reports = new List<TrainingProgress>();
        var error = Assert.ThrowsExactly<IOException>(() => new DdpmTrainer(Small(2) with { CheckpointDirectory = directory }).Train(data, new Synchronous(reports.Add)));
        StringAssert.Contains(error.Message, $"Cannot write '{directory}': '{file}' is a file, not a folder");
        Assert.AreEqual(0, reports.Count);
    }

    [TestMethod]
    public void Cancellation_StopsAfterTheStepAndWritesALoadableCheckpoint()
    {
        using var data = Patterns();
        using var cancel = new CancellationTokenSource();
        var options = Small(50) with { CheckpointDirectory = NewDirectory(), CheckpointEvery = 1000 };
        var reports = new List<TrainingProgress>();
        var progress = new Synchronous(p =>
        {
            reports.Add(p);
            if (p.Step == 3)
            {
                cancel.Cancel();
            }
        });
        using var result = new DdpmTrainer(options).Train(data, progress, cancellationToken: cancel.Token);
        Assert.IsFalse(result.Completed);
        Assert.AreEqual(3, result.Steps);
        Assert.AreEqual(TrainingCheckpoint.PathFor(options.CheckpointDirectory!, 3), result.LastCheckpoint);
        CollectionAssert.AreEqual(new long[] { 1, 2, 3 }, reports.Select(r => r.Step).ToArray());
        Assert.IsTrue(reports.All(r => r.TotalSteps == 50 && r.ImagesPerSecond > 0 && r.LearningRate > 0 && double.IsFinite(r.MeanLoss)));

        using var resumed = DdpmTrainer.Resume(result.LastCheckpoint!, data, maxSteps: 5);
        Assert.IsTrue(resumed.Completed);
        Assert.AreEqual(5, resumed.Steps);
        Assert.AreEqual(5, resumed.Losses.Count);
    }

    [TestMethod]
    public void NonFiniteLoss_StopsWithTheStepAndKeepsTheLastGoodCheckpoint()
    {
        var directory = NewDirectory();
        using (var clean = Patterns())
        {
            using var good = new DdpmTrainer(Small(2) with { CheckpointDirectory = directory }).Train(clean);
        }

        var checkpoint = TrainingCheckpoint.PathFor(directory, 2);
        var before = File.ReadAllBytes(checkpoint);
        using var poisoned = Patterns(withNaN: true);
        var ex = Assert.ThrowsExactly<TrainingDivergedException>(() => DdpmTrainer.Resume(checkpoint, poisoned, maxSteps: 10));
        Assert.AreEqual(3, ex.Step);
        StringAssert.Contains(ex.Message, "Training diverged at step 3");
        StringAssert.Contains(ex.Message, checkpoint);
        CollectionAssert.AreEqual(before, File.ReadAllBytes(checkpoint), "the last good checkpoint is untouched");
        Assert.AreEqual(1, TrainingCheckpoint.List(directory).Count);
    }

    [TestMethod]
    public void Checkpoints_KeepOnlyTheLastK()
    {
        using var data = Patterns();
        var options = Small(6) with { CheckpointDirectory = NewDirectory(), CheckpointEvery = 1, KeepCheckpoints = 2 };
        using var result = new DdpmTrainer(options).Train(data);
        CollectionAssert.AreEqual(
            new[] { TrainingCheckpoint.PathFor(options.CheckpointDirectory!, 5), TrainingCheckpoint.PathFor(options.CheckpointDirectory!, 6) },
            TrainingCheckpoint.List(options.CheckpointDirectory!).ToArray());
        Assert.AreEqual(0, Directory.GetFiles(options.CheckpointDirectory!, "*.tmp").Length, "no temporary files are left");
    }

    [TestMethod]
    public void GuidanceScaleZero_SamplesExactlyLikeTheUnconditionalModel()
    {
        using var data = Patterns();
        using var result = new DdpmTrainer(Small(30) with { ClassConditional = true }).Train(data);
        using var scope = torch.NewDisposeScope();
        var sampler = new DdimSampler(result.Schedule);
        var labels = torch.tensor(new long[] { 0, 1, 2, 3 });
        using var noiseA = SamplingNoise.PerSample(firstSeed: 5, count: 4);
        using var noiseB = SamplingNoise.PerSample(firstSeed: 5, count: 4);
        using var noiseC = SamplingNoise.PerSample(firstSeed: 5, count: 4);
        var guided = SamplingLoop.Run(sampler, UNetDenoiser.Create(result.EmaModel, labels, guidanceScale: 0), [4, 1, 8, 8], noiseA, 10);
        var unconditional = SamplingLoop.Run(sampler, UNetDenoiser.Create(result.EmaModel), [4, 1, 8, 8], noiseB, 10);
        var conditional = SamplingLoop.Run(sampler, UNetDenoiser.Create(result.EmaModel, labels), [4, 1, 8, 8], noiseC, 10);
        CollectionAssert.AreEqual(unconditional.data<float>().ToArray(), guided.data<float>().ToArray());
        Assert.IsFalse(conditional.allclose(unconditional, 0, 0), "the labels change the samples");
    }

    [TestMethod]
    public void Report_IsWrittenForAPerson()
    {
        using var data = Patterns();
        var directory = NewDirectory();
        var names = new[] { "stripes", "checks", "square", "cross" };
        var options = Small(6) with { CheckpointDirectory = directory, CheckpointEvery = 3, SampleGridSize = 8, ClassConditional = true, ClassNames = names };
        using var result = new DdpmTrainer(options).Train(data);
        var path = Path.Combine(directory, "report.html");
        var modelPath = Path.Combine(directory, string.Concat(Enumerable.Repeat("a-long-folder-name/", 6)), "model.zip");
        TrainingReport.Write(path, result, new TrainingReportDetails
        {
            Title = "run <1> & co",
            Dataset = "four patterns",
            ModelPath = modelPath,
            NextSteps = [$"mlnet-diffusion generate --model {modelPath} --count 16"],
        });
        var html = File.ReadAllText(path);
        StringAssert.Contains(html, "<h1>run &lt;1&gt; &amp; co</h1>", "the title is HTML-encoded");
        ReportStructure.Check(html);

        // One loss statistic: the mean of the last max(10, steps / 50) steps, in the lead, the final-loss row and the legend.
        Assert.AreEqual(10, result.LossWindowSize);
        Assert.AreEqual(result.Losses.Average(), result.FinalLoss, 1e-15, "six steps: the window holds them all");
        StringAssert.Contains(html, $"<tr><th>final loss (mean of the last 10 steps)</th><td>{result.FinalLoss.ToString("F5", CultureInfo.InvariantCulture)}</td></tr>");
        StringAssert.Contains(html, "mean of the last 10 steps</text>");
        StringAssert.Contains(html, "per-step loss</text>");
        StringAssert.Contains(html, "loss (log scale)</text>");
        CollectionAssert.AreEqual(Enumerable.Range(0, 6).Select(s => options.LearningRate * Math.Min(s + 1, 5) / 5).ToArray(), result.LearningRates.ToArray(), "warm-up over 5 steps, then constant");

        // The grids: the last checkpoint's as the final one, the earlier one under it, class names over the columns.
        StringAssert.Contains(html, "<figcaption>final samples (step 6)</figcaption>");
        StringAssert.Contains(html, "<figcaption>step 3</figcaption>");
        StringAssert.Contains(html, "title=\"cross\">cross</span>");
        StringAssert.Contains(html, "<tr><th>classes</th><td>0 stripes, 1 checks, 2 square, 3 cross</td></tr>");

        // The configuration as rows (nested settings too), the environment, the data, the model and what to run next.
        StringAssert.Contains(html, "<tr><th>BatchSize</th><td>4</td></tr>");
        StringAssert.Contains(html, "<tr><th>Schedule.Kind</th><td>Cosine</td></tr>");
        StringAssert.Contains(html, "<tr><th>device</th><td>cpu</td></tr>");
        StringAssert.Contains(html, "<tr><th>data</th><td>four patterns</td></tr>");
        StringAssert.Contains(html, "<tr><th>model written to</th><td>");
        StringAssert.Contains(html, "<h2>Next</h2>");
        foreach (var row in new[] { "written", "MLNet.Diffusion", "TorchSharp", ".NET", "CPU", "threads" })
        {
            StringAssert.Contains(html, $"<tr><th>{row}</th><td>");
        }

        // Without a checkpoint directory the final grid is sampled from the moving average.
        using var plain = new DdpmTrainer(Small(2) with { SampleGridSize = 4 }).Train(data);
        var sampled = TrainingReport.Render(plain);
        ReportStructure.Check(sampled);
        StringAssert.Contains(sampled, "<figcaption>final samples (step 2, moving-average weights)</figcaption>");

        // A folder that does not exist is named as given, never as the temporary file written first.
        var missing = Path.Combine(directory, "missing", "report.html");
        var error = Assert.ThrowsExactly<DirectoryNotFoundException>(() => TrainingReport.Write(missing, result));
        StringAssert.StartsWith(error.Message, $"Cannot write '{missing}'");
        Assert.IsFalse(error.Message.Contains(".tmp", StringComparison.Ordinal), error.Message);
    }

    /// <summary>
    /// Training, checkpoints, grids and resuming dispose every tensor they create: right after each phase the live
    /// count is back at its baseline without any help from the garbage collector (a tensor left to a finalizer holds
    /// native memory the GC cannot see). The count is TorchSharp's per-thread one (tensors created on this thread minus
    /// those disposed on it): the trainer runs on the calling thread, tests on other threads do not move it, and a
    /// tensor the finalizer disposes never counts as disposed here.
    /// </summary>
    [TestMethod]
    public void Training_DisposesEveryNativeTensorItCreates()
    {
        using var data = Patterns();
        var options = Small(8) with { CheckpointDirectory = NewDirectory(), CheckpointEvery = 4, SampleGridSize = 2, ClassConditional = true };
        var baseline = LiveTensors;
        using (new DdpmTrainer(options).Train(data))
        {
        }

        Assert.AreEqual(baseline, LiveTensors, "after training with checkpoints and grids");
        using (new DdpmTrainer(options with { SampleGridSize = 0, CheckpointDirectory = null }).Train(data))
        {
        }

        Assert.AreEqual(baseline, LiveTensors, "after training without checkpoints");
        using (DdpmTrainer.Resume(TrainingCheckpoint.PathFor(options.CheckpointDirectory!, 4), data))
        {
        }

        Assert.AreEqual(baseline, LiveTensors, "after resuming");
    }

    [TestMethod]
    public void LearningRate_WarmsUpThenFollowsTheSchedule()
    {
        var constant = new DdpmTrainer(new DdpmTrainerOptions { LearningRate = 1e-3, WarmupSteps = 10 });
        Assert.AreEqual(1e-4, constant.LearningRateAt(0, 100), 1e-15);
        Assert.AreEqual(1e-3, constant.LearningRateAt(9, 100), 1e-15);
        Assert.AreEqual(1e-3, constant.LearningRateAt(99, 100), 1e-15);
        var cosine = new DdpmTrainer(new DdpmTrainerOptions { LearningRate = 1e-3, WarmupSteps = 10, LearningRateSchedule = LearningRateSchedule.Cosine });
        Assert.AreEqual(1e-3, cosine.LearningRateAt(10, 110), 1e-15);
        Assert.AreEqual(0.5e-3, cosine.LearningRateAt(60, 110), 1e-15);
        Assert.AreEqual(0, cosine.LearningRateAt(110, 110), 1e-15);
    }

    [TestMethod]
    public void BadOptionsAndCheckpoints_AreRejectedClearly()
    {
        Assert.AreEqual("BatchSize", Assert.ThrowsExactly<ArgumentException>(() => new DdpmTrainer(new DdpmTrainerOptions { BatchSize = 0 })).ParamName);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new DdpmTrainer(new DdpmTrainerOptions { ModelPreset = "giant" })).Message, "tiny, small, ddpm-cifar10");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new DdpmTrainer(new DdpmTrainerOptions { Device = "gpu" })).Message, "cpu, cuda, cuda:N, auto");
        using var data = Patterns();
        var wrongSize = Small(1) with { Model = UNetConfig.Preset("tiny", 16, 1) };
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new DdpmTrainer(wrongSize).Train(data)).Message, "16 px");
        var directory = NewDirectory();
        var notACheckpoint = Path.Combine(directory, "weights.safetensors");
        using (var t = torch.zeros([1]))
        {
            Safetensors.Save(notACheckpoint, [new("w", t)]);
        }

        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => DdpmTrainer.Resume(notACheckpoint, data)).Message, "not an MLNet.Diffusion training checkpoint");
        Assert.ThrowsExactly<FileNotFoundException>(() => DdpmTrainer.Resume(Path.Combine(directory, "missing.safetensors"), data));
    }

    private static long LiveTensors => DisposeScopeManager.Statistics.ThreadTotalLiveCount;

    private sealed class Synchronous(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
