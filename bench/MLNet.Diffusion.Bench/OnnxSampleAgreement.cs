using System.Globalization;
using Google.Protobuf;
using MLNet.Diffusion.IO;
using MLNet.Diffusion.Onnx;
using Onnx;
using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.ForwardProcess;
using MLNet.Diffusion.Images;
using MLNet.Diffusion.Sampling;

namespace MLNet.Diffusion.Bench;

/// <summary>
/// <see cref="OnnxSampleBenchmark"/>'s check before timing: the three engines start from the same x_T (bit for bit)
/// and end at the same model-space x (within <see cref="OnnxSampleBenchmark.Tolerance"/>), so that the timings compare
/// the same computation.
/// </summary>
internal static class OnnxSampleAgreement
{
    private static readonly CultureInfo s_invariant = CultureInfo.InvariantCulture;

    // Returns the resident set size after TorchSharp's run, before ONNX Runtime's first session.
    public static long? Check(OnnxSampleWorkload workload, PythonReference python, byte[] checkBytes, string loopInput, string loopOutput, OnnxSampleOptions settings,
        long[] seeds, ulong[] useeds, long[] shape, PixelEncoding encoding, TextWriter output)
    {
        var n = settings.Steps;
        using var scope = torch.NewDisposeScope();
        Tensor initial, ours;
        using (var noise = SamplingNoise.PerSample(useeds))
        {
            initial = noise.Initial(shape);
        }

        using (var noise = SamplingNoise.PerSample(useeds))
        {
            var sampler = GeneratorGraph.CreateSampler(workload.NoiseSchedule, PredictionType.Epsilon, Samplers.DpmSolverPlusPlus, n);
            ours = SamplingLoop.Run(sampler, UNetDenoiser.Create(workload.Network), shape, noise, n);
        }

        var stem = Path.Combine(Path.GetTempPath(), string.Create(s_invariant, $"mlnd-onnx-bench-{Environment.ProcessId}"));
        var (path, theirPath) = (stem + ".safetensors", stem + "-pytorch.safetensors");
        Tensor theirs;
        try
        {
            Safetensors.Save(path, workload.Network.named_parameters().Select(p => KeyValuePair.Create($"{OnnxSampleBenchmark.Command}.{p.name}", (Tensor)p.parameter))
                .Append(new($"{OnnxSampleBenchmark.Command}.noise", initial)));
            python.Check(path, theirPath);
            using var loaded = Safetensors.Load(theirPath);
            theirs = loaded.Tensors[$"{OnnxSampleBenchmark.Command}.x"].clone();
        }
        finally
        {
            File.Delete(path);
            File.Delete(theirPath);
        }

        // ONNX Runtime last, so that the resident set before it is what TorchSharp's run left.
        var rssBeforeOnnx = ProcessMemory.CurrentRssKiB();
        float[] ortNoise, ortX, ortPixels;
        using (var check = new OrtRun(checkBytes, OrtSessions.Options(settings.Threads, _ => { }), seeds))
        {
            var outputs = check.Run([loopInput, loopOutput, "pixels"]);
            (ortNoise, ortX, ortPixels) = (outputs[0], outputs[1], outputs[2]);
        }

        var ortInitial = torch.tensor(ortNoise, shape);
        var ortFinal = torch.tensor(ortX, shape);
        var noiseDifference = (ortInitial - initial).abs().max().ToDouble();
        output.WriteLine(string.Create(s_invariant,
            $"check x_T: ONNX Runtime's counter-based noise from the seeds against SamplingNoise.Initial of the same seeds: largest difference {noiseDifference:G3} (must be 0, bit for bit)"));
        var pairs = new (string Label, Tensor A, Tensor B)[]
        {
            ("ONNX Runtime vs TorchSharp", ortFinal, ours),
            ("PyTorch vs TorchSharp", theirs, ours),
            ("ONNX Runtime vs PyTorch", ortFinal, theirs),
        };
        var worst = 0.0;
        foreach (var (label, a, b) in pairs)
        {
            var difference = Agreement.RelativeDifference(a, b);
            worst = Math.Max(worst, difference);
            output.WriteLine(string.Create(s_invariant,
                $"check final x of {n} DPM-Solver++ steps (model space, before the pixel conversion), {label}: largest difference {difference:G2} of the largest |x| ({b.abs().max().ToDouble():G4}); tolerance {OnnxSampleBenchmark.Tolerance:G2}"));
        }

        if (settings.OrtVariants)
        {
            // The variant with the weights moved into the Loop body runs other convolution kernels (NCHWc): it must
            // compute the same samples too.
            using var outside = new OrtRun(OrtSessions.WeightsOutsideLoopBody(checkBytes), OrtSessions.Options(settings.Threads, _ => { }), seeds);
            var outsideFinal = torch.tensor(outside.Run([loopOutput])[0], shape);
            var difference = Agreement.RelativeDifference(outsideFinal, ours);
            worst = Math.Max(worst, difference);
            output.WriteLine(string.Create(s_invariant,
                $"check final x, ONNX Runtime with the weights outside the Loop body (--ort-variants) vs TorchSharp: largest difference {difference:G2} of the largest |x|; tolerance {OnnxSampleBenchmark.Tolerance:G2}"));
        }

        // Pixels: the graph's own 0–255 output against TorchSharp's x through the same conversion.
        var ourPixels = ours.contiguous().data<float>().ToArray().Select(v => (float)encoding.ToPixel(v)).ToArray();
        var differing = ourPixels.Zip(ortPixels).Count(p => p.First != p.Second);
        var largest = ourPixels.Zip(ortPixels).Max(p => Math.Abs(p.First - p.Second));
        output.WriteLine(string.Create(s_invariant,
            $"check pixels: ONNX Runtime's 0–255 output against TorchSharp's x converted alike: {differing} of {ourPixels.Length} differ, by at most {largest:G3}"));
        if (noiseDifference != 0 || !(worst <= OnnxSampleBenchmark.Tolerance))
        {
            throw new InvalidOperationException(string.Create(s_invariant,
                $"the engines disagree (x_T difference {noiseDifference:G3}, final x {worst:G3} > {OnnxSampleBenchmark.Tolerance:G2}); the timings would not compare the same computation."));
        }

        output.WriteLine("agreement: the three engines compute the same samples, within the tolerance above");
        return rssBeforeOnnx;
    }

    // The N-step graph with two more outputs: the Loop's initial x (x_T) and its final x (model space).
    public static (byte[] Bytes, string LoopInput, string LoopOutput) WithModelSpaceOutputs(ModelProto graph, int channels, int size)
    {
        var copy = graph.Clone();
        var loop = copy.Graph.Node.Single(node => node.OpType == "Loop");
        var (input, output) = (loop.Input[2], loop.Output[0]);
        copy.Graph.Output.Add(OnnxGraph.Value(input, TensorProto.Types.DataType.Float, [null, channels, size, size]));
        copy.Graph.Output.Add(OnnxGraph.Value(output, TensorProto.Types.DataType.Float, [null, channels, size, size]));
        return (copy.ToByteArray(), input, output);
    }
}
