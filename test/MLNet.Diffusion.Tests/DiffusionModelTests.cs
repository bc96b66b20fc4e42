using MLNet.Diffusion.Engine;
using MLNet.Diffusion.IO;
using System.IO.Compression;
using System.Text;
using MLNet.Diffusion.Models;
using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.Training;
using MLNet.Diffusion.ForwardProcess;

namespace MLNet.Diffusion.Tests;

[TestClass]
public sealed class DiffusionModelTests
{
    private static DiffusionModel? s_model;
    private static string s_folder = null!;

    [ClassInitialize]
    public static void TrainOnce(TestContext context)
    {
        s_folder = Path.Combine(context.TestRunDirectory ?? Path.GetTempPath(), "model-zip-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(s_folder);
        using var images = torch.rand([8, 1, 8, 8]) * 2 - 1;
        using var labels = torch.tensor(new long[] { 0, 1, 2, 0, 1, 2, 0, 1 });
        using var data = new TensorTrainingData(images, labels, 3);
        var options = new DdpmTrainerOptions
        {
            Model = UNetConfig.Preset("tiny", 8, 1),
            Schedule = new NoiseScheduleOptions { Kind = BetaScheduleKind.Cosine, TrainTimesteps = 100 },
            ClassConditional = true, BatchSize = 4, MaxSteps = 5, WarmupSteps = 1, LearningRate = 1e-2, Device = "cpu", SampleGridSize = 0,
        };
        using var result = new DdpmTrainer(options).Train(data);
        s_model = DiffusionModel.FromTraining(result);
    }

    [ClassCleanup]
    public static void Cleanup() => s_model?.Dispose();

    private static DiffusionModel Model => s_model!;

    private static string NewPath(string name) => Path.Combine(s_folder, Guid.NewGuid().ToString("N") + "-" + name);

    [TestMethod]
    public void SaveLoad_GeneratesIdenticalPixelsAndKeepsTheDescription()
    {
        var path = NewPath("model.zip");
        Model.Save(path);
        using var loaded = DiffusionModel.Load(path, "cpu");
        var options = new GenerationOptions { Seed = 3, Labels = [0, 1, 2, 2], Guidance = 2, Steps = 10 };
        using var before = Model.Generate(4, options);
        using var after = loaded.Generate(4, options);
        CollectionAssert.AreEqual(before.data<float>().ToArray(), after.data<float>().ToArray());
        Assert.AreEqual(Model.ParameterCount, loaded.ParameterCount);
        Assert.AreEqual(3, loaded.Config.NumClasses);
        Assert.AreEqual(100, loaded.Schedule.TrainTimesteps);
        Assert.AreEqual(5, loaded.Training!.Steps);
        Assert.AreEqual(Model.Training, loaded.Training);
        using var ddim = loaded.Generate(2, new GenerationOptions { Sampler = SamplerKind.Ddim, Steps = 5 });
        Assert.IsTrue(ddim.abs().max().ToDouble() <= 1, "images are clamped to [-1, 1]");
    }

    [TestMethod]
    public void Generate_AnImageDoesNotDependOnHowManyAreGenerated()
    {
        var options = new GenerationOptions { Seed = 11, Label = 1, Steps = 8 };
        using var two = Model.Generate(2, options);
        using var five = Model.Generate(5, options);
        CollectionAssert.AreEqual(two[1].data<float>().ToArray(), five[1].data<float>().ToArray());
    }

    [TestMethod]
    public void Generate_BadLabels_AreRejected()
    {
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => Model.Generate(2, new GenerationOptions { Label = 3 })).Message, "[0, 2]");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => Model.Generate(2, new GenerationOptions { Labels = [1] })).Message, "1 labels were given for 2 images");
    }

    [TestMethod]
    public void Load_EntryEscapingTheArchive_IsRejected()
    {
        var path = Rewrite("escape.zip", entries => entries["../evil.txt"] = Encoding.UTF8.GetBytes("x"));
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => DiffusionModel.Load(path, "cpu")).Message, "entry '../evil.txt' would escape the archive");
        var absolute = Rewrite("absolute.zip", entries => entries["/etc/evil"] = [1]);
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => DiffusionModel.Load(absolute, "cpu")).Message, "would escape the archive");
    }

    [TestMethod]
    public void Load_TruncatedFile_IsRejected()
    {
        var good = NewPath("good.zip");
        Model.Save(good);
        var bytes = File.ReadAllBytes(good);
        var path = NewPath("truncated.zip");
        File.WriteAllBytes(path, bytes[..(bytes.Length * 2 / 3)]);
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => DiffusionModel.Load(path, "cpu")).Message, $"'{path}' is not a valid model");
    }

    [TestMethod]
    public void Load_MisShapedTensor_NamesIt()
    {
        var path = RewriteVersion1("misshaped.zip", entries =>
        {
            using var content = Safetensors.Deserialize(entries["ema.safetensors"]);
            using var wrong = torch.zeros([16, 1, 5, 5]);
            entries["ema.safetensors"] = Safetensors.Serialize(content.Tensors.Select(p => p.Key == "conv_in.weight" ? KeyValuePair.Create(p.Key, wrong) : p));
        });
        var message = Assert.ThrowsExactly<InvalidDataException>(() => DiffusionModel.Load(path, "cpu")).Message;
        StringAssert.Contains(message, "conv_in.weight: expected [16, 1, 3, 3], got [16, 1, 5, 5]");
    }

    [TestMethod]
    public void Load_WrongTensorType_IsRejected()
    {
        var path = RewriteVersion1("float64.zip", entries =>
        {
            using var content = Safetensors.Deserialize(entries["ema.safetensors"]);
            using var scope = torch.NewDisposeScope();
            entries["ema.safetensors"] = Safetensors.Serialize(content.Tensors.Select(p => p.Key == "conv_out.bias" ? KeyValuePair.Create(p.Key, p.Value.to(ScalarType.Float64)) : p));
        });
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => DiffusionModel.Load(path, "cpu")).Message, "conv_out.bias is float64");
    }

    [TestMethod]
    public void Load_FutureFormatVersion_AsksForAnUpgrade()
    {
        var path = RewriteVersion1("future.zip", entries =>
            entries["manifest.json"] = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(entries["manifest.json"]).Replace("\"FormatVersion\":1", "\"FormatVersion\":99", StringComparison.Ordinal)));
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => DiffusionModel.Load(path, "cpu")).Message, "format version 99, newer than this library reads (2); upgrade");
        var graph = ModelFiles.RewriteGraph(Model, NewPath("future-onnx.zip"), model =>
        {
            var manifest = model.MetadataProps.Single(p => p.Key == "mlnet_diffusion.manifest");
            manifest.Value = manifest.Value.Replace("\"FormatVersion\":2", "\"FormatVersion\":3", StringComparison.Ordinal);
        });
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => DiffusionModel.Load(graph, "cpu")).Message, "format version 3, newer than this library reads (2); upgrade");
    }

    [TestMethod]
    public void Load_OversizedEntryOrNoManifest_IsRejected()
    {
        var good = NewPath("big.zip");
        Model.Save(good);
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => DiffusionModel.Load(good, "cpu", maxEntryBytes: 1000)).Message, "over the limit of 1000");
        var path = RewriteVersion1("nomanifest.zip", entries => entries.Remove("manifest.json"));
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => DiffusionModel.Load(path, "cpu")).Message, "neither an MLNet.Diffusion generator graph nor a manifest.json");
        var notZip = NewPath("not.zip");
        File.WriteAllText(notZip, "hello");
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => DiffusionModel.Load(notZip, "cpu")).Message, "not a valid model");
    }

    [TestMethod]
    public void Save_OverAnExistingFile_IsAtomic()
    {
        var path = NewPath("atomic.zip");
        File.WriteAllText(path, "old");
        Model.Save(path);
        using var loaded = DiffusionModel.Load(path, "cpu");
        Assert.AreEqual(Model.ParameterCount, loaded.ParameterCount);
        Assert.AreEqual(0, Directory.GetFiles(s_folder, "*.tmp").Length);
    }

    [TestMethod]
    public void Load_PreviousFormatVersion_StillLoadsAndGeneratesTheSameImages()
    {
        var old = NewPath("version1.zip");
        Model.SaveFormatVersion1(old);
        var current = NewPath("version2.zip");
        Model.Save(current);
        using var fromOld = DiffusionModel.Load(old, "cpu");
        using var fromCurrent = DiffusionModel.Load(current, "cpu");
        var options = new GenerationOptions { Seed = 8, Labels = [2, 0], Guidance = 1.5, Steps = 6 };
        using var a = fromOld.Generate(2, options);
        using var b = fromCurrent.Generate(2, options);
        using var c = Model.Generate(2, options);
        CollectionAssert.AreEqual(c.data<float>().ToArray(), a.data<float>().ToArray());
        CollectionAssert.AreEqual(c.data<float>().ToArray(), b.data<float>().ToArray());
        Assert.AreEqual(Model.Training, fromOld.Training);
    }

    private static string Rewrite(string name, Action<Dictionary<string, byte[]>> change)
    {
        var source = NewPath("source.zip");
        Model.Save(source);
        return ModelFiles.RewriteEntries(source, NewPath(name), change);
    }

    private static string RewriteVersion1(string name, Action<Dictionary<string, byte[]>> change)
    {
        var source = NewPath("source1.zip");
        Model.SaveFormatVersion1(source);
        return ModelFiles.RewriteEntries(source, NewPath(name), change);
    }
}
