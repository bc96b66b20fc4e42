using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Diffusion.ForwardProcess;
using MLNet.Diffusion.Tests.Onnx;
using TorchSharp;

namespace MLNet.Diffusion.Tests.Pipeline;

/// <summary>
/// <c>mlContext.Diffusion().Edit</c> and <c>Inpaint</c> as ML.NET stages: the same results as the tensor API, whatever the batch,
/// through <c>PredictionEngine</c> too; kept pixels exact; every schema problem named before any work; a bad mask value named with
/// its row. One tiny class-conditional 8-px gray model.
/// </summary>
[TestClass]
public sealed class ImageEditingPipelineTests
{
    private static DiffusionModel s_model = null!;

    [ClassInitialize]
    public static void TrainOnce(TestContext context) =>
        s_model = GeneratorGraphTests.Train(channels: 1, classes: 3, PredictionType.Epsilon, BetaScheduleKind.Cosine, steps: 10);

    [ClassCleanup]
    public static void Cleanup() => s_model?.Dispose();

    private sealed class Row
    {
        public long Seed { get; set; }

        public int Label { get; set; }

        [VectorType(1, 8, 8)]
        public float[] Pixels { get; set; } = [];

        [VectorType(1, 8, 8)]
        public float[] Mask { get; set; } = [];
    }

    private sealed class Output
    {
        [VectorType(1, 8, 8)]
        public float[] EditedPixels { get; set; } = [];
    }

    // Three rows: gradients of different contrast, seeds 5, 6, 7, labels 0, 1, −1; the mask keeps the left half (255 as ExtractPixels gives it).
    private static Row[] Rows() => [.. Enumerable.Range(0, 3).Select(i => new Row
    {
        Seed = 5 + i,
        Label = i == 2 ? -1 : i,
        Pixels = [.. Enumerable.Range(0, 64).Select(p => ((p / 63f * 2) - 1) * (1 - (0.3f * i)))],
        Mask = [.. Enumerable.Range(0, 64).Select(p => p % 8 < 4 ? 255f : 0f)],
    })];

    [TestMethod]
    public void Edit_InAPipeline_IsTheTensorApisEdit_AtAnyBatchSize()
    {
        var ml = new MLContext(seed: 1);
        var rows = Rows();
        var data = ml.Data.LoadFromEnumerable(rows);
        var sampling = new GenerationOptions { Steps = 6 };
        var batched = ml.Diffusion().Edit(s_model, new ImageEditingOptions { Strength = 0.5, Sampling = sampling }).Fit(data).Transform(data);
        var single = ml.Diffusion().Edit(s_model, new ImageEditingOptions { Strength = 0.5, Sampling = sampling, BatchSize = 1 }).Fit(data).Transform(data);
        var fromView = Pixels(batched);
        CollectionAssert.AreEqual(fromView, Pixels(single), "a row's result does not depend on its batch");

        using var images = torch.tensor(rows.SelectMany(r => r.Pixels).ToArray(), [3, 1, 8, 8]);
        using var edited = s_model.Edit(images, 0.5, sampling with { Seed = 5, Labels = [0, 1, -1] });
        var expected = s_model.ConvertToImages(edited).SelectMany(i => i.Pixels.ToArray().Select(b => (float)b)).ToArray();
        CollectionAssert.AreEqual(expected, fromView, "the tensor API with the rows' seeds and labels");

        // The class column names each row's class, the missing key for the unconditional row.
        CollectionAssert.AreEqual(new uint[] { 1, 2, 0 }, batched.GetColumn<uint>("ClassName").ToArray());

        // A PredictionEngine reuses one row: each example gets its own result.
        var engine = ml.Model.CreatePredictionEngine<Row, Output>(ml.Diffusion().Edit("Edited", s_model, strength: 0.5).Fit(data));
        var fromEngine = engine.Predict(rows[1]).EditedPixels;
        Assert.IsFalse(fromEngine.SequenceEqual(engine.Predict(rows[0]).EditedPixels));
        CollectionAssert.AreEqual(fromEngine, engine.Predict(rows[1]).EditedPixels);
    }

    [TestMethod]
    public void Inpaint_InAPipeline_KeepsTheMasksPixelsExactly()
    {
        var ml = new MLContext(seed: 1);
        var rows = Rows();
        var data = ml.Data.LoadFromEnumerable(rows);
        foreach (var rePaint in new RePaintOptions?[] { null, new RePaintOptions { Steps = 8, JumpLength = 2, JumpCount = 2 } })
        {
            var filled = Pixels(ml.Diffusion().Inpaint("Edited", s_model, rePaint: rePaint).Fit(data).Transform(data));
            for (var r = 0; r < rows.Length; r++)
            {
                for (var p = 0; p < 64; p++)
                {
                    if (p % 8 < 4)
                    {
                        Assert.AreEqual(s_model.Preprocessing.ToPixel(rows[r].Pixels[p]), filled[(r * 64) + p], $"row {r}, pixel {p} is kept");
                    }
                }
            }
        }

        rows[1].Mask[3] = 0.5f;
        var bad = ml.Diffusion().Inpaint("Edited", s_model).Fit(data).Transform(ml.Data.LoadFromEnumerable(rows));
        var error = Assert.ThrowsExactly<InvalidDataException>(() => Pixels(bad));
        StringAssert.Contains(error.Message, "Row 1: column 'Mask' holds 0.5 at index 3; a mask holds only 0 (generate) and 1 or 255 (keep).");
    }

    [TestMethod]
    public void DocsExample_EditsAndInpaintsAView()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Rows());            // Seed, Label, Pixels [1, 8, 8], Mask [1, 8, 8]
        var model = s_model;

        // docs: editing pipeline
        var edited = ml.Diffusion().Edit("Edited", model, inputColumnName: "Pixels", seedColumnName: "Seed", strength: 0.5)
            .Fit(data).Transform(data);                           // lazy: rows are edited when read, 16 at a time
        var filled = ml.Diffusion().Inpaint("Filled", model, maskColumnName: "Mask")
            .Fit(data).Transform(data);                           // "Filled" (MLImage) and "FilledPixels" (0–255)
        foreach (var image in filled.GetColumn<MLImage>("Filled"))
        {
            Console.WriteLine($"{image.Width}×{image.Height}");
        }
        // end

        Assert.AreEqual(3, edited.GetColumn<float[]>("EditedPixels").Count());
        Assert.AreEqual(3, filled.GetColumn<float[]>("FilledPixels").Count());
    }

    [TestMethod]
    public void SchemaProblems_AreNamedBeforeAnyWork_AndSavingRePaintSaysWhatToDo()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Rows());
        var noSeed = ml.Transforms.DropColumns("Seed").Fit(data).Transform(data);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ml.Diffusion().Edit("Edited", s_model).Fit(noSeed)).Message, "Column 'Seed' not found");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ml.Diffusion().Edit("Edited", s_model, inputColumnName: "Seed").Fit(data)).Message,
            "Column 'Seed' holds Int64; this model edits Single [1, 8, 8] images");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ml.Diffusion().Inpaint("Edited", s_model, maskColumnName: "Hole").Fit(data)).Message,
            "Column 'Hole' not found: inpainting reads a mask");
        Assert.ThrowsExactly<ArgumentException>(() => ml.Diffusion().Edit(s_model, new ImageEditingOptions { MaskColumnName = "Mask", Sampling = new() { Sampler = SamplerKind.Ddpm } }));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Diffusion().Edit("Edited", s_model, strength: 2));

        var rePaint = ml.Diffusion().Inpaint("Edited", s_model, rePaint: new RePaintOptions()).Fit(data);
        var path = Path.Combine(Path.GetTempPath(), $"editing-{Guid.NewGuid():N}.zip");
        var saving = Assert.ThrowsExactly<NotSupportedException>(() => ml.Model.Save(rePaint, data.Schema, path));
        StringAssert.Contains(saving.Message, "inpaints deterministically");
        var named = ml.Transforms.CopyColumns("seed", "Label").Fit(data).Transform(data);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ml.Model.Save(ml.Diffusion().Edit("Edited", s_model).Fit(named), named.Schema, path)).Message,
            "The view has a column 'seed'");
        File.Delete(path);  // ML.NET creates the file before it asks the transformer to save itself
    }

    /// <summary>
    /// A chain ending in Edit or deterministic Inpaint saves as ML.NET's built-in transformers around the editing graph, loads in a fresh
    /// context without this library's transformers, and gives the live stage's columns and (within kernel rounding) its pixels; with and
    /// without labels, masks of 0/255.
    /// </summary>
    [TestMethod]
    [DataRow("edit", true)]
    [DataRow("inpaint", true)]
    [DataRow("inpaint", false)]
    public void ModelSave_OfAnEditingChain_LoadsAsBuiltInTransformers_AndEditsAlike(string task, bool labelled)
    {
        var ml = new MLContext(seed: 1);
        var rows = ml.Data.LoadFromEnumerable(Rows());
        var data = labelled ? rows : ml.Transforms.DropColumns("Label").Fit(rows).Transform(rows);
        var options = new ImageEditingOptions { OutputColumnName = "Out", MaskColumnName = task == "inpaint" ? "Mask" : null, Strength = 0.7, Sampling = new() { Steps = 8, Guidance = 2 } };
        var transformer = ml.Diffusion().Edit(s_model, options).Fit(data);
        var path = Path.Combine(Path.GetTempPath(), $"editing-{Guid.NewGuid():N}.zip");
        try
        {
            // Applied to a view without labels after Fit: the saved chain still reads the columns it was fitted on.
            _ = transformer.Transform(ml.Transforms.DropColumns("Label").Fit(rows).Transform(rows)).Schema;
            ml.Model.Save(transformer, data.Schema, path);
            StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => DiffusionModel.Load(path)).Message, "is a saved image-editing chain");
            var other = new MLContext();
            var loaded = other.Model.Load(path, out _);
            try
            {
                Assert.IsFalse(((IEnumerable<ITransformer>)loaded).Any(t => t.GetType().Assembly.GetName().Name!.StartsWith("MLNet.Diffusion", StringComparison.Ordinal)));
                var live = transformer.Transform(data);
                var reloaded = loaded.Transform(data);

                // The same columns; OnnxTransformer keeps the graph's batch axis in a vector's dimensions ([1, C, S, S]), as in a saved generator.
                static string Describe(DataViewSchema.Column c) => $"{c.Name} {(c.Type is VectorDataViewType v ? $"{v.ItemType} × {v.Size}" : c.Type.ToString())}";
                CollectionAssert.AreEquivalent(live.Schema.Where(c => !c.IsHidden).Select(Describe).ToArray(), reloaded.Schema.Where(c => !c.IsHidden).Select(Describe).ToArray());
                var a = live.GetColumn<float[]>("OutPixels").SelectMany(p => p).ToArray();
                var b = reloaded.GetColumn<float[]>("OutPixels").SelectMany(p => p).ToArray();
                Assert.HasCount(3 * 64, b);
                GeneratorGraphTests.AssertEnginesAgree(a, b, $"saved {task} chain, labelled: {labelled}");
                var input = Rows().SelectMany(r => r.Pixels.Select(s_model.Preprocessing.ToPixel)).ToArray();
                Assert.IsGreaterThan(64, input.Zip(b, (x, y) => x != y).Count(d => d), "the rows were edited");
                if (task == "inpaint")
                {
                    Assert.IsTrue(Enumerable.Range(0, b.Length).Where(i => i % 8 < 4).All(i => b[i] == input[i]), "kept pixels exact after loading");
                }

                Assert.AreEqual(3, reloaded.GetColumn<MLImage>("Out").Count(i => i.Width == 8 && i.Height == 8));
                Assert.AreEqual(labelled ? live.Schema["ClassName"].Type : null, reloaded.Schema.GetColumnOrNull("ClassName")?.Type);
            }
            finally
            {
                (loaded as IDisposable)?.Dispose();
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static float[] Pixels(IDataView view) => [.. view.GetColumn<float[]>("EditedPixels").SelectMany(p => p)];
}
