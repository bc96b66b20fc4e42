using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MLNet.Diffusion;
using MLNet.Diffusion.Datasets;
using MLNet.Diffusion.Engine;
using MLNet.Diffusion.Images;
using MLNet.Diffusion.Metrics;
using TorchSharp;
using static TorchSharp.torch;

// docs/editing.md's measurements. Usage: EditingQuality <model.zip> <out folder> [per class] [RePaint per class]
// Fashion-MNIST test images, the first `per class` of each class, with their right half masked (x ≥ 14 generated), are
// completed by each method; the committed feature network's classifier (FeatureNetwork, its own test accuracy in
// docs/evaluation.md) names the class of each completed image, and its accuracy against the true labels is the score.
// Inpainting runs unconditionally (label −1): given the true label, the model is told the answer, so those rows are marked.
NativeEnvironment.ApplyDefaults();
var invariant = CultureInfo.InvariantCulture;
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: EditingQuality <model.zip> <out folder> [images per class, default 20] [RePaint images per class, default 5]");
    return 2;
}

var (modelPath, outFolder) = (args[0], args[1]);
var perClass = args.Length > 2 ? int.Parse(args[2], invariant) : 20;
var rePaintPerClass = args.Length > 3 ? int.Parse(args[3], invariant) : 5;
Directory.CreateDirectory(outFolder);
using var model = DiffusionModel.Load(modelPath);
using var classifier = FeatureNetwork.LoadPretrained();
using var scope = torch.NewDisposeScope();

// The first `perClass` test images of each class, in class order (image i is class i / perClass).
var (testImages, testLabels) = FashionMnist.LoadTest();
var labels = testLabels.data<long>().ToArray();
var chosen = Enumerable.Range(0, FashionMnist.ClassCount).SelectMany(c => labels.Select((l, i) => (l, i)).Where(p => p.l == c).Take(perClass).Select(p => (long)p.i)).ToArray();
var images = testImages.index_select(0, torch.tensor(chosen));
var truth = testLabels.index_select(0, torch.tensor(chosen));
var count = (int)images.size(0);
var mask = torch.zeros([1, 1, 28, 28]);
mask.narrow(3, 0, 14).fill_(1);                                        // keep the left half, generate the right
var (trainImages, _) = FashionMnist.LoadTrain();
var meanImage = trainImages.mean([0], keepdim: true);                  // [1, 1, 28, 28]
var keep = mask.to(ScalarType.Bool).expand(images.shape);

var rows = new List<Dictionary<string, object>>();
var pictures = new Dictionary<string, Tensor>();
void Row(string method, Tensor result, Tensor expected, double secondsPerImage, string note = "")
{
    var accuracy = classifier.Accuracy(result, expected);
    rows.Add(new() { ["method"] = method, ["images"] = result.size(0), ["accuracy"] = Math.Round(accuracy, 4), ["secondsPerImage"] = Math.Round(secondsPerImage, 3), ["note"] = note });
    Console.WriteLine(string.Create(invariant, $"{method,-58} N={result.size(0),4}  accuracy {accuracy:P1}  {secondsPerImage,8:F3} s/image {note}"));
}

Tensor Timed(Func<Tensor> run, int n, out double secondsPerImage)
{
    var clock = Stopwatch.StartNew();
    var result = run();
    secondsPerImage = clock.Elapsed.TotalSeconds / n;
    return result;
}

Tensor Picture(Tensor batch, int per) => batch.index_select(0, torch.tensor(Enumerable.Range(0, FashionMnist.ClassCount).Select(c => (long)(c * per)).ToArray()));

Row("test images, unmasked", images, truth, 0);
pictures["original"] = Picture(images, perClass);
var masked = torch.where(keep, images, torch.zeros_like(images));
pictures["masked"] = Picture(masked, perClass);
var meanFill = torch.where(keep, images, meanImage.expand(images.shape));
Row("right half: the mean training image", meanFill, truth, 0);
pictures["mean fill"] = Picture(meanFill, perClass);

var unconditional = new GenerationOptions { Seed = 0, Label = GenerationOptions.UnconditionalLabel };
var told = new GenerationOptions { Seed = 0, Labels = [.. truth.data<long>().Select(l => (int)l)] };
foreach (var (sampler, steps) in new[] { (SamplerKind.DpmSolverPlusPlus, 20), (SamplerKind.Ddim, 50) })
{
    var name = $"deterministic inpainting, {sampler.ToName()} {steps} steps";
    var filled = Timed(() => model.Inpaint(images, mask, unconditional with { Sampler = sampler, Steps = steps }), count, out var seconds);
    Row($"{name}, label -1", filled, truth, seconds);
    if (sampler == SamplerKind.DpmSolverPlusPlus)
    {
        pictures["deterministic"] = Picture(filled, perClass);
    }

    var toldFilled = Timed(() => model.Inpaint(images, mask, told with { Sampler = sampler, Steps = steps }), count, out seconds);
    Row($"{name}, true label", toldFilled, truth, seconds, "(the label leaks the answer)");
}

// RePaint on fewer images: its defaults take 460 network passes per image.
var rePaintChosen = torch.tensor(Enumerable.Range(0, FashionMnist.ClassCount).SelectMany(c => Enumerable.Range(c * perClass, rePaintPerClass)).Select(i => (long)i).ToArray());
var rePaintImages = images.index_select(0, rePaintChosen);
var rePaintTruth = truth.index_select(0, rePaintChosen);
var rePaintCount = (int)rePaintImages.size(0);
foreach (var settings in new[] { new RePaintOptions(), new RePaintOptions { Steps = 50, JumpLength = 5, JumpCount = 3 } })
{
    var name = $"RePaint, {settings.Steps} steps, jumps of {settings.JumpLength}, {settings.JumpCount} passes";
    var repainted = Timed(() => model.Inpaint(rePaintImages, mask, unconditional, settings), rePaintCount, out var seconds);
    Row($"{name}, label -1", repainted, rePaintTruth, seconds);
    if (settings.Steps == 100)
    {
        pictures["RePaint"] = Picture(repainted, rePaintPerClass);
        // The same images by the cheaper methods, side by side.
        var baseline = torch.where(keep.narrow(0, 0, rePaintCount), rePaintImages, meanImage.expand(rePaintImages.shape));
        Row("right half: the mean training image (RePaint's images)", baseline, rePaintTruth, 0);
        var deterministic = Timed(() => model.Inpaint(rePaintImages, mask, unconditional with { Steps = 20 }), rePaintCount, out var fast);
        Row("deterministic inpainting, dpm-solver++ 20 steps, label -1 (RePaint's images)", deterministic, rePaintTruth, fast);
    }
}

// Image-to-image at three strengths, unconditional: how much of the class survives, and what it looks like.
foreach (var strength in new[] { 0.3, 0.6, 0.9 })
{
    var edited = Timed(() => model.Edit(images, strength, unconditional with { Steps = 20 }), count, out var seconds);
    Row(string.Create(invariant, $"image-to-image, strength {strength}, dpm-solver++ 20 steps, label -1"), edited, truth, seconds, "(class kept)");
    pictures[string.Create(invariant, $"strength {strength}")] = Picture(edited, perClass);
}

// The pictures: one column per class, one row per method, at 2x.
void Grid(string file, params string[] names)
{
    var tiles = names.SelectMany(n => ImageGrid.ToImages(pictures[n])).Select(i => ImageGrid.Upscale(i, 2)).ToList();
    ImageCodec.SavePng(ImageGrid.Compose(tiles, columns: FashionMnist.ClassCount), Path.Combine(outFolder, file));
}

Grid("inpainting.png", "original", "masked", "mean fill", "deterministic", "RePaint");
Grid("image-to-image.png", "original", "strength 0.3", "strength 0.6", "strength 0.9");
var result = new Dictionary<string, object>
{
    ["model"] = Path.GetFileName(modelPath),
    ["date"] = DateTime.UtcNow.ToString("yyyy-MM-dd", invariant),
    ["threads"] = torch.get_num_threads(),
    ["imagesPerClass"] = perClass,
    ["rePaintImagesPerClass"] = rePaintPerClass,
    ["mask"] = "left half kept (x < 14), right half generated",
    ["classifier"] = "FeatureNetwork (committed Fashion-MNIST classifier)",
    ["rows"] = rows,
};
File.WriteAllText(Path.Combine(outFolder, "editing.json"), JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true }));
Console.WriteLine($"wrote {Path.Combine(outFolder, "editing.json")}, inpainting.png and image-to-image.png");
return 0;
