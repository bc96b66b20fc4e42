using Microsoft.ML;
using MLNet.Diffusion.ForwardProcess;
using MLNet.Diffusion.Training;

namespace MLNet.Diffusion.Tests.Training;

/// <summary>
/// The named recipes: the library's default (the ablation's winner, docs/quality.md), the short-run recipe before it, and
/// the ML.NET catalog's <c>Train(...)</c> on the default; a checkpoint of a run on the old recipe keeps its settings.
/// </summary>
[TestClass]
public sealed class TrainingRecipesTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void Default_IsTheShortRunRecipe_WithVPredictionForShortRuns_AndScalesTheWarmupWithTheRun()
    {
        var options = new DdpmTrainerOptions { MaxSteps = 3000, ModelPreset = "tiny", Seed = 4 };
        var recipe = TrainingRecipes.Default(options);
        Assert.AreEqual(TrainingRecipes.ShortRun(options), recipe, "192,000 images: the short-run recipe itself, ε");
        Assert.AreEqual((PredictionType.Epsilon, 1e-3, 100, LearningRateSchedule.Cosine, 0.999), (recipe.PredictionType, recipe.LearningRate, recipe.WarmupSteps, recipe.LearningRateSchedule, recipe.EmaDecay));
        Assert.AreEqual(("tiny", 4UL), (recipe.ModelPreset, recipe.Seed.GetValueOrDefault()), "the run's own settings are kept");
        var demo = TrainingRecipes.Default(options with { MaxSteps = 1400, BatchSize = 32 });
        Assert.AreEqual(TrainingRecipes.ShortRun(options with { MaxSteps = 1400, BatchSize = 32 }) with { PredictionType = PredictionType.VPrediction }, demo, "the demo's 44,800 images: v");

        // v below 64,000 images (steps × batch × accumulation), ε from there on.
        foreach (var (steps, batch, accumulation, prediction) in new (long, int, int, PredictionType)[]
        {
            (200, 64, 1, PredictionType.VPrediction), (999, 64, 1, PredictionType.VPrediction), (1000, 64, 1, PredictionType.Epsilon),
            (1999, 32, 1, PredictionType.VPrediction), (2000, 32, 1, PredictionType.Epsilon), (500, 64, 2, PredictionType.Epsilon),
            (2000, 64, 1, PredictionType.Epsilon), (1, 1, 1, PredictionType.VPrediction), (63_999, 1, 1, PredictionType.VPrediction), (64_000, 1, 1, PredictionType.Epsilon), (long.MaxValue, int.MaxValue, int.MaxValue, PredictionType.Epsilon),
        })
        {
            var run = TrainingRecipes.Default(options with { MaxSteps = steps, BatchSize = batch, GradientAccumulationSteps = accumulation });
            Assert.AreEqual(prediction, run.PredictionType, $"{steps} steps of {batch} × {accumulation}");
            Assert.AreEqual(prediction, TrainingRecipes.DefaultPredictionType(steps, (long)batch * accumulation));
        }

        // A tenth of the run, rounded up, between 1 and 100 steps; the short-run recipe warms up over min(100, steps).
        foreach (var (steps, warmup) in new (long, int)[] { (1, 1), (10, 1), (11, 2), (40, 4), (200, 20), (999, 100), (1400, 100), (100_000, 100), (long.MaxValue, 100) })
        {
            Assert.AreEqual(warmup, TrainingRecipes.Default(options with { MaxSteps = steps }).WarmupSteps, $"{steps} steps");
        }

        Assert.AreEqual(40, TrainingRecipes.ShortRun(options with { MaxSteps = 40 }).WarmupSteps, "the short-run recipe warms up over all of a 40-step run");
        Assert.AreEqual(PredictionType.Epsilon, TrainingRecipes.ShortRun(options).PredictionType);

        Assert.AreEqual(recipe, TrainingRecipes.Apply(TrainingRecipes.DefaultName, options));
        Assert.AreEqual(TrainingRecipes.ShortRun(options), TrainingRecipes.Apply(TrainingRecipes.ShortRunName, options));
        CollectionAssert.AreEqual(new[] { "default", "short-run" }, TrainingRecipes.Names.ToArray());
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => TrainingRecipes.Apply("ddpm-2020", options)).Message, "use one of default, short-run");
    }

    /// <summary>docs/training.md's example.</summary>
    [TestMethod]
    public void Docs_RecipesExample()
    {
        var options = TrainingRecipes.Default(new DdpmTrainerOptions { MaxSteps = 2000, ClassConditional = true });
        Assert.AreEqual((PredictionType.Epsilon, 1e-3, 100, true), (options.PredictionType, options.LearningRate, options.WarmupSteps, options.ClassConditional));
        var shortRun = TrainingRecipes.Default(new DdpmTrainerOptions { MaxSteps = 400, ClassConditional = true });
        Assert.AreEqual((PredictionType.VPrediction, 1e-3, 40), (shortRun.PredictionType, shortRun.LearningRate, shortRun.WarmupSteps));
    }

    [TestMethod]
    public void CatalogTrain_RunsOnTheDefaultRecipe_WithTheRateGivenWhenThereIsOne()
    {
        var ml = new MLContext(seed: 1);
        var options = ml.Diffusion().Train(maxSteps: 300, seed: 2).TrainerOptions;
        Assert.AreEqual(TrainingRecipes.Default(new DiffusionTrainer.Options { MaxSteps = 300, Seed = 2 }), options);
        Assert.AreEqual(5e-4, ml.Diffusion().Train(maxSteps: 300, learningRate: 5e-4).TrainerOptions.LearningRate);
    }

    /// <summary>
    /// A run resumes on the prediction its checkpoint recorded, whatever the recipes choose now: ε for a run on the recipe before
    /// the default, v for a short run on the default (Resume never applies a recipe, so a resumed run keeps it at any new length).
    /// </summary>
    [TestMethod]
    [DataRow(TrainingRecipes.ShortRunName, PredictionType.Epsilon)]
    [DataRow(TrainingRecipes.DefaultName, PredictionType.VPrediction)]
    public void CheckpointOfARun_ResumesWithItsOwnSettings(string recipe, PredictionType prediction)
    {
        var directory = Path.Combine(TestContext.TestRunDirectory ?? Path.GetTempPath(), "recipe-" + Guid.NewGuid().ToString("N"));
        using var images = TorchSharp.torch.rand([8, 1, 8, 8]) * 2 - 1;
        using var data = new TensorTrainingData(images);
        var run = TrainingRecipes.Apply(recipe, new DdpmTrainerOptions
        {
            Model = MLNet.Diffusion.Models.UNetConfig.Preset("tiny", 8, 1), BatchSize = 4, MaxSteps = 2, Device = "cpu", Seed = 1, SampleGridSize = 0,
            CheckpointDirectory = directory, CheckpointEvery = 1,
        });
        Assert.AreEqual(prediction, run.PredictionType);
        using (new DdpmTrainer(run).Train(data))
        {
        }

        var recorded = new DiffusionTrainer.Options(TrainingCheckpoint.Read(TrainingCheckpoint.PathFor(directory, 2)).Options);
        Assert.AreEqual(prediction, recorded.PredictionType);
        Assert.AreEqual(run.LearningRate, recorded.LearningRate);
        using var resumed = DdpmTrainer.Resume(TrainingCheckpoint.PathFor(directory, 2), data, maxSteps: 3);
        Assert.AreEqual(3, resumed.Steps);
        Assert.AreEqual(prediction, resumed.Options.PredictionType);
    }
}
