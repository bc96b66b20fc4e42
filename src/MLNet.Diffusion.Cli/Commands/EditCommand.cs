using System.CommandLine;
using MLNet.Diffusion.Images;
using TorchSharp;

using static MLNet.Diffusion.Cli.SharedOptions;

namespace MLNet.Diffusion.Cli.Commands;

/// <summary>
/// <c>mlnet-diffusion edit</c> (image-to-image, SDEdit) and <c>inpaint</c> (deterministic, or RePaint with jumps): a model applied
/// to images the user has, one file or a folder of them, with TorchSharp.
/// </summary>
internal sealed class EditCommand
{
    // Images per sampling run: each image depends only on its seed, label and pixels, not on the batch.
    private const int Batch = 16;

    private readonly TextWriter _output;
    private readonly bool _inpaint;
    private readonly Option<string> _model = new("--model") { Description = "A model .zip, or a training checkpoint (its moving-average weights).", Required = true };
    private readonly Option<string> _image = new("--image") { Description = "A PNG or JPEG image, or a folder of them (one output each, same names).", Required = true };
    private readonly Option<string> _out = new("--out") { Description = "A .png path for one image; a folder (created when missing) for a folder of images.", Required = true };
    private readonly Option<string> _resize = new("--resize")
    {
        Description = "How an image of another size becomes the model's: crop (scale the short side, cut the center: what train does with a folder), pad (scale the long side, black borders) or stretch.",
        DefaultValueFactory = _ => "crop",
    };

    private readonly Option<string> _sampler = SamplerOption("dpm-solver++, ddim or ddpm (inpaint without --jumps: dpm-solver++ or ddim).");
    private readonly Option<int?> _steps = StepsOption("The sampler's steps (default: its usual count; with --jumps, RePaint's grid: 100).");
    private readonly Option<ulong> _seed = new("--seed") { Description = "Image i uses seed + i (its x_T and any noise).", DefaultValueFactory = _ => 0 };
    private readonly Option<string?> _label = new("--label") { Description = "The class (class-conditional models): its name or number; -1 or none: unconditional." };
    private readonly Option<double> _guidance = new("--guidance") { Description = "Classifier-free guidance scale, toward --label (1: none).", DefaultValueFactory = _ => 1 };
    private readonly Option<string> _device = new("--device") { Description = "auto, cpu or cuda[:N] (--engine torch).", DefaultValueFactory = _ => "auto" };
    private readonly Option<string> _engine = new("--engine")
    {
        Description = "torch (TorchSharp) or onnx (ONNX Runtime, CPU: a graph of the edit or of deterministic inpainting built from the model's weights).",
        DefaultValueFactory = _ => "torch",
    };
    private readonly Option<double> _strength = new("--strength") { Description = "edit: the share of the sampler's steps that run, 0 (the image) to 1 (a new image).", DefaultValueFactory = _ => 0.6 };
    private readonly Option<string> _mask = new("--mask") { Description = "inpaint: a black-and-white image (white: keep, black: generate), or a folder of them named as the images.", Required = true };
    private readonly Option<int?> _jumps = new("--jumps") { Description = "inpaint: RePaint with this many passes over each stretch (DDPM steps, fresh noise); none: deterministic inpainting." };
    private readonly Option<bool> _deterministic = new("--deterministic") { Description = "inpaint: deterministic inpainting (the default without --jumps), with --sampler dpm-solver++ or ddim." };
    private readonly Option<int> _jumpLength = new("--jump-length") { Description = "inpaint --jumps: the steps of each jump back up the grid.", DefaultValueFactory = _ => 10 };

    private EditCommand(TextWriter output, bool inpaint)
    {
        (_output, _inpaint) = (output, inpaint);
        _resize.AcceptOnlyFromAmong("crop", "pad", "stretch");
        _engine.AcceptOnlyFromAmong("torch", "onnx");
    }

    /// <summary>The <c>edit</c> command.</summary>
    public static Command CreateEdit(TextWriter output) => new EditCommand(output, inpaint: false).Build();

    /// <summary>The <c>inpaint</c> command.</summary>
    public static Command CreateInpaint(TextWriter output) => new EditCommand(output, inpaint: true).Build();

    private Command Build()
    {
        var command = _inpaint
            ? new Command("inpaint", "Fill the black part of a mask in images you have, keeping the white part exactly.") { _mask, _jumps, _jumpLength, _deterministic }
            : new Command("edit", "Change images you have by noising them part-way and denoising them (SDEdit): --strength says how far.") { _strength };
        foreach (var option in new Option[] { _model, _image, _out, _resize, _sampler, _steps, _seed, _label, _guidance, _device, _engine })
        {
            command.Add(option);
        }

        command.SetAction(Run);
        return command;
    }

    private int Run(ParseResult p)
    {
        CheckSteps(p, _steps);
        CheckGuidance(p, _guidance);
        Check(p.GetValue(_label) is not null || p.GetValue(_guidance) == 1,
            $"--guidance {p.GetValue(_guidance).ToString(Invariant)} applies only with --label: guidance steers the images toward a class of a class-conditional model");
        var sampler = ParseSampler(p.GetRequiredValue(_sampler));
        var rePaint = _inpaint && p.GetValue(_jumps) is not null;
        if (_inpaint)
        {
            Check(p.GetValue(_jumps) is null or >= 1, $"--jumps must be ≥ 1, not {p.GetValue(_jumps)}");
            Check(!(rePaint && p.GetValue(_deterministic)), "--deterministic and --jumps exclude each other: --jumps inpaints by RePaint, which draws fresh noise");
            Check(p.GetValue(_jumpLength) >= 1, $"--jump-length must be ≥ 1, not {p.GetValue(_jumpLength)}");
            Check(rePaint || !p.Given(_jumpLength), "--jump-length applies only with --jumps (RePaint)");
            Check(!rePaint || !p.Given(_sampler), "--sampler does not apply with --jumps: RePaint takes DDPM steps");
            Check(rePaint || sampler.CanEdit(), $"inpaint runs --sampler dpm-solver++ or ddim (or DDPM steps with --jumps), not {sampler.ToName()}: heun and euler generate from noise only");
            Check(rePaint || sampler != SamplerKind.Ddpm,
                "inpaint without --jumps is deterministic and needs --sampler dpm-solver++ or ddim; for DDPM steps with resampling, give --jumps (RePaint)");
        }
        else
        {
            Check(sampler.CanEdit(), $"edit runs --sampler dpm-solver++, ddim or ddpm, not {sampler.ToName()}: heun and euler generate from noise only");
            Check(p.GetValue(_strength) is >= 0 and <= 1, $"--strength must be 0 to 1, not {p.GetValue(_strength).ToString(Invariant)}");
        }

        var onnx = p.GetRequiredValue(_engine) == "onnx";
        if (onnx)
        {
            // A graph is deterministic and runs on the CPU: what it cannot do is refused before any work.
            Check(!rePaint, "--engine onnx runs a deterministic graph, and RePaint (--jumps) draws fresh noise at every step and jump: drop --jumps for deterministic inpainting, or use --engine torch");
            Check(sampler.IsDeterministic(), "--engine onnx runs a deterministic graph, and --sampler ddpm draws fresh noise at every step: use --sampler ddim or dpm-solver++, or --engine torch");
            Check(p.GetRequiredValue(_device) is "auto" or "cpu",
                $"--device {p.GetRequiredValue(_device)} applies only to --engine torch: --engine onnx runs on the CPU through ONNX Runtime");
        }
        else
        {
            CheckDevice(p, _device);
        }

        var resizing = p.GetRequiredValue(_resize) switch { "pad" => ImageResizeMode.IsoPad, "stretch" => ImageResizeMode.Fill, _ => ImageResizeMode.IsoCrop };

        // Every input is read and checked before the model runs and before anything is written.
        var (files, outputs) = Inputs(p.GetRequiredValue(_image), p.GetRequiredValue(_out));
        var images = Decode(files, "--image");
        Check(!onnx || p.GetValue(_seed) <= (ulong)(long.MaxValue - (images.Count - 1)),
            $"--engine onnx takes seeds below 2^63: --seed {p.GetValue(_seed)} with {images.Count} image(s) goes past it");
        var path = p.GetRequiredValue(_model);
        using var model = LoadModel(path, p.GetRequiredValue(_device), _output);
        var masks = _inpaint ? Masks(p.GetRequiredValue(_mask), files, model.Config.ImageSize, resizing) : null;
        var resized = images.Count(i => i.Width != model.Config.ImageSize || i.Height != model.Config.ImageSize);
        var options = new GenerationOptions
        {
            Sampler = rePaint ? SamplerKind.Ddpm : sampler,
            Steps = p.GetValue(_steps),
            Seed = p.GetValue(_seed),
            Label = p.GetValue(_label) is { } given ? ClassIndex(model, given) : null,
            Guidance = p.GetValue(_guidance),
        };
        var repaintOptions = rePaint ? new RePaintOptions { Steps = p.GetValue(_steps) ?? 100, JumpLength = p.GetValue(_jumpLength), JumpCount = p.GetValue(_jumps)!.Value } : null;
        PrepareOutput("--out", outputs.Count == 1 && files.Count == 1 && !Directory.Exists(p.GetRequiredValue(_image)) ? outputs[0] : p.GetRequiredValue(_out), folder: outputs.Count > 1 || Directory.Exists(p.GetRequiredValue(_image)));

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var done = new List<Image>();
        using var graph = onnx
            ? new Onnx.OnnxGenerator(model.ToOnnx(new ImageEditingOptions { MaskColumnName = _inpaint ? "Mask" : null, Strength = p.GetValue(_strength), Sampling = options }))
            : null;
        for (var first = 0; first < images.Count; first += Batch)
        {
            var count = Math.Min(Batch, images.Count - first);
            if (graph is not null)
            {
                done.AddRange(EditOnnx(graph, model, options, images.GetRange(first, count), masks?.GetRange(first, count), first, resizing));
                continue;
            }

            using var scope = torch.NewDisposeScope();
            var values = model.ConvertFromImages(images.GetRange(first, count), resizing);
            var batchOptions = options with { Seed = options.Seed + (ulong)first };
            var result = masks is null
                ? model.Edit(values, p.GetValue(_strength), batchOptions)
                : model.Inpaint(values, torch.cat([.. masks.GetRange(first, count)], 0), batchOptions, repaintOptions);
            using (var nan = result.isnan().any())
            {
                Check(!nan.item<bool>(), "The images hold NaN values (did sampling diverge?).", invalidOperation: true);
            }

            done.AddRange(model.ConvertToImages(result));
        }

        for (var i = 0; i < done.Count; i++)
        {
            ImageCodec.SavePng(done[i], outputs[i]);
        }

        var (used, usedSteps, usedGuidance) = model.GraphSettings(options);
        var method = !_inpaint ? string.Create(Invariant, $"edit at strength {p.GetValue(_strength)}: the last {(int)Math.Floor(usedSteps * p.GetValue(_strength))} of {usedSteps} {SamplerName(used)} steps")
            : rePaint ? string.Create(Invariant, $"RePaint: {repaintOptions!.Steps} DDPM steps, jumps of {repaintOptions.JumpLength}, {repaintOptions.JumpCount} passes ({Sampling.RePaintSchedule.NetworkPasses(repaintOptions.Steps, repaintOptions.JumpLength, repaintOptions.JumpCount)} network passes per image)")
            : string.Create(Invariant, $"deterministic inpainting: {usedSteps} {SamplerName(used)} steps");
        _output.WriteLine(string.Create(Invariant,
            $"engine {(onnx ? "onnx (a graph built from the model's weights)" : $"torch ({model.Network.parameters().First().device})")}: {method}, guidance {usedGuidance}; {(resized == 0 ? "no image resized" : $"{resized} image(s) resized to {model.Config.ImageSize} px ({p.GetRequiredValue(_resize)})")}; {clock.Elapsed.TotalSeconds / done.Count:F2} s per image"));
        _output.WriteLine(done.Count == 1 ? $"wrote {outputs[0]}" : string.Create(Invariant, $"wrote {done.Count} images to {p.GetRequiredValue(_out)}"));
        return 0;
    }

    // One batch through the graph: the images as the model's values and the masks as 0/1 planes, seeds Seed + first + i.
    private static Image[] EditOnnx(Onnx.OnnxGenerator graph, DiffusionModel model, GenerationOptions options, List<Image> images, List<torch.Tensor>? masks, int first, ImageResizeMode resizing)
    {
        using var scope = torch.NewDisposeScope();
        var values = model.ConvertFromImages(images, resizing).contiguous().data<float>().ToArray();
        var keep = masks is null ? null : torch.cat([.. masks], 0).to(torch.float32).contiguous().data<float>().ToArray();
        var seeds = Enumerable.Range(0, images.Count).Select(i => (long)options.Seed + first + i).ToArray();
        long[]? labels = model.Config.NumClasses is null ? null : [.. Enumerable.Repeat((long)(options.Label ?? GenerationOptions.UnconditionalLabel), images.Count)];
        return graph.EditImages(seeds, values, keep, labels);
    }

    // The input files and their outputs: one file → the --out .png; a folder → its PNG/JPEG files, each to --out/<name>.png.
    private static (List<string> Files, List<string> Outputs) Inputs(string image, string target)
    {
        if (Directory.Exists(image))
        {
            var files = Directory.GetFiles(image).Where(IsImage).Order(StringComparer.Ordinal).ToList();
            Check(files.Count > 0, $"--image: the folder '{image}' has no PNG or JPEG files");
            Check(!target.EndsWith(".png", StringComparison.OrdinalIgnoreCase), $"--out '{target}': --image is a folder, so --out is a folder too (one PNG per image, named as the images)");
            var names = files.Select(f => Path.GetFileNameWithoutExtension(f)).ToList();
            var twice = names.GroupBy(n => n, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
            Check(twice is null, $"--image: '{twice?.Key}' is in the folder under two extensions, and both would be written as {twice?.Key}.png");
            return (files, [.. names.Select(n => Path.Combine(target, n + ".png"))]);
        }

        Check(File.Exists(image), $"--image: '{image}' is neither an image file nor a folder");
        Check(target.EndsWith(".png", StringComparison.OrdinalIgnoreCase), $"--out '{target}': for one --image, --out is the .png to write");
        return ([image], [target]);
    }

    private static bool IsImage(string file) => Path.GetExtension(file).ToLowerInvariant() is ".png" or ".jpg" or ".jpeg";

    // Every file decoded; all the unreadable ones named in one error.
    private static List<Image> Decode(List<string> files, string option)
    {
        var images = new List<Image>();
        var bad = new List<string>();
        foreach (var file in files)
        {
            try
            {
                images.Add(ImageCodec.Load(file));
            }
            catch (InvalidDataException ex)
            {
                bad.Add(ex.Message);
            }
        }

        Check(bad.Count == 0, $"{option}: {bad.Count} of {files.Count} file(s) cannot be read as images, so nothing was written: {string.Join(" ", bad.Take(10))}");
        return images;
    }

    // One mask for every image, or a folder with a mask named as each image; each checked (black and white only) before any work.
    private static List<torch.Tensor> Masks(string mask, List<string> files, int size, ImageResizeMode resizing)
    {
        List<string> paths;
        if (Directory.Exists(mask))
        {
            var byName = Directory.GetFiles(mask).Where(IsImage).ToDictionary(f => Path.GetFileNameWithoutExtension(f), StringComparer.Ordinal);
            var missing = files.Select(f => Path.GetFileNameWithoutExtension(f)).Where(n => !byName.ContainsKey(n)).ToList();
            Check(missing.Count == 0, $"--mask: the folder '{mask}' has no mask named {string.Join(", ", missing.Take(10))} (a mask per image, named as the image)");
            paths = [.. files.Select(f => byName[Path.GetFileNameWithoutExtension(f)])];
        }
        else
        {
            Check(File.Exists(mask), $"--mask: '{mask}' is neither an image file nor a folder");
            paths = [.. files.Select(_ => mask)];
        }

        var images = Decode([.. paths.Distinct()], "--mask").Zip(paths.Distinct()).ToDictionary(p => p.Second, p => p.First);
        var tensors = new Dictionary<string, torch.Tensor>();
        foreach (var (file, image) in images)
        {
            try
            {
                tensors[file] = ImageMask.FromImage(image, size, resizing, $"--mask '{file}'");
            }
            catch (InvalidDataException ex)
            {
                throw new ArgumentException(ex.Message, ex);
            }
        }

        return [.. paths.Select(p => tensors[p])];
    }
}
