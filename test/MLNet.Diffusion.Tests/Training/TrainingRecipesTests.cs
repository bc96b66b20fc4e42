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
    public void Default_IsTheShortRunRecipeWithVPrediction_AndScalesTheWarmupWithTheRun()
    {
        var options = new DdpmTrainerOptions { MaxSteps = 3000, ModelPreset = "tiny", Seed = 4 };
        var recipe = TrainingRecipes.Default(options);
        Assert.AreEqual(PredictionType.VPrediction, recipe.PredictionType);
        Assert.AreEqual(TrainingRecipes.ShortRun(options) with { PredictionType = PredictionType.VPrediction }, recipe, "from 1,000 steps on, the short-run recipe's warm-up");
        Assert.AreEqual((1e-3, 100, LearningRateSchedule.Cosine, 0.999), (recipe.LearningRate, recipe.WarmupSteps, recipe.LearningRateSchedule, recipe.EmaDecay));
        Assert.AreEqual(("tiny", 4UL), (recipe.ModelPreset, recipe.Seed.GetValueOrDefault()), "the run's own settings are kept");
        // A tenth of the run, rounded up, between 1 and 100 steps; the short-run recipe warms up over min(100, steps).
        foreach (var (steps, warmup) in new (long, int)[] { (1, 1), (10, 1), (11, 2), (40, 4), (200, 20), (999, 100), (1400, 100), (100_000, 100) })
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
        Assert.AreEqual((PredictionType.VPrediction, 1e-3, 100, true), (options.PredictionType, options.LearningRate, options.WarmupSteps, options.ClassConditional));
    }

    [TestMethod]
    public void CatalogTrain_RunsOnTheDefaultRecipe_WithTheRateGivenWhenThereIsOne()
    {
        var ml = new MLContext(seed: 1);
        var options = ml.Diffusion().Train(maxSteps: 300, seed: 2).TrainerOptions;
        Assert.AreEqual(TrainingRecipes.Default(new DiffusionTrainer.Options { MaxSteps = 300, Seed = 2 }), options);
        Assert.AreEqual(5e-4, ml.Diffusion().Train(maxSteps: 300, learningRate: 5e-4).TrainerOptions.LearningRate);
    }

    /// <summary>A run on the recipe before the default (ε) resumes as ε: its checkpoint's options are the run's, whatever the defaults now.</summary>
    [TestMethod]
    public void CheckpointOfARunOnTheShortRunRecipe_ResumesWithItsOwnSettings()
    {
        var directory = Path.Combine(TestContext.TestRunDirectory ?? Path.GetTempPath(), "recipe-" + Guid.NewGuid().ToString("N"));
        using var images = TorchSharp.torch.rand([8, 1, 8, 8]) * 2 - 1;
        using var data = new TensorTrainingData(images);
        var run = TrainingRecipes.ShortRun(new DdpmTrainerOptions
        {
            Model = MLNet.Diffusion.Models.UNetConfig.Preset("tiny", 8, 1), BatchSize = 4, MaxSteps = 2, Device = "cpu", Seed = 1, SampleGridSize = 0,
            CheckpointDirectory = directory, CheckpointEvery = 1,
        });
        using (new DdpmTrainer(run).Train(data))
        {
        }

        var recorded = new DiffusionTrainer.Options(TrainingCheckpoint.Read(TrainingCheckpoint.PathFor(directory, 2)).Options);
        Assert.AreEqual(PredictionType.Epsilon, recorded.PredictionType);
        Assert.AreEqual(run.LearningRate, recorded.LearningRate);
        using var resumed = DdpmTrainer.Resume(TrainingCheckpoint.PathFor(directory, 2), data, maxSteps: 3);
        Assert.AreEqual(3, resumed.Steps);
        Assert.AreEqual(PredictionType.Epsilon, resumed.Options.PredictionType);
    }
}
