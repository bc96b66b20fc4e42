using MLNet.Diffusion.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Tests.Engine;

/// <summary>
/// <see cref="BatchInvariant"/>'s operations give each image's rows exactly the values it gets alone, in batches of 1 to 64
/// at any position and on 1 or 2 threads, for the shapes where ATen's own operations do not (measured on libtorch 2.10: a
/// batch of 1 or a 1×1 kernel under 16 images on one thread leave oneDNN; SiLU over lengths that are no whole number of
/// SIMD vectors ends in scalar code).
/// </summary>
[TestClass]
public sealed class BatchInvariantTests
{
    private static readonly int[] s_batches = [1, 2, 5, 16, 17, 64];

    // More threads than this machine's cores change how ATen and oneDNN cut the work, which is what matters here.
    private static readonly int[] s_threadCounts = [1, 2, 4];

    [TestMethod]
    [DataRow(1, 16, 8, 3, 1, 1)]     // a batch of 1 with a small input: ATen's im2col + sgemm
    [DataRow(32, 64, 7, 3, 1, 1)]
    [DataRow(32, 32, 14, 3, 2, 1)]   // the downsampler
    [DataRow(16, 32, 28, 1, 1, 0)]   // 1×1: off oneDNN below 16 images on one thread
    [DataRow(64, 192, 7, 1, 1, 0)]
    [DataRow(128, 256, 16, 3, 1, 1)]   // ddpm-cifar10's
    [DataRow(256, 256, 4, 3, 1, 1)]
    public void Conv2d_RowsDoNotDependOnTheBatch(int inChannels, int outChannels, int size, int kernel, int stride, int padding)
    {
        torch.manual_seed(1);
        using var conv = nn.Conv2d(inChannels, outChannels, kernel, stride: stride, padding: padding);
        foreach (var threads in s_threadCounts)
        {
            AssertRowsInvariant([inChannels, size, size], x => BatchInvariant.Conv2d(conv, x), threads);
        }
    }

    [TestMethod]
    public void Conv2d_IsWhatAtenComputesWhenItChoosesOneDnn()
    {
        torch.manual_seed(2);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var conv = nn.Conv2d(16, 32, 3, padding: 1);
        var x = torch.randn([64, 16, 8, 8]);  // 64 images: ATen takes oneDNN for any kernel
        Assert.IsTrue(conv.forward(x).equal(BatchInvariant.Conv2d(conv, x)).all().item<bool>());
    }

    [TestMethod]
    public void Conv2d_ChannelsLastView_GivesTheValuesOfItsContiguousCopy()
    {
        // Attention's output projection reads a transposed view, channels-last for several images and not for one.
        torch.manual_seed(3);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var conv = nn.Conv2d(32, 32, 1);
        foreach (var batch in new[] { 1, 4 })
        {
            var view = torch.randn([batch, 49, 32]).transpose(1, 2).reshape(batch, 32, 7, 7);
            Assert.IsTrue(BatchInvariant.Conv2d(conv, view).equal(BatchInvariant.Conv2d(conv, view.contiguous())).all().item<bool>(), $"batch {batch}");
        }
    }

    [TestMethod]
    [DataRow(64, 16)]
    [DataRow(16, 64)]
    [DataRow(128, 512)]
    public void Linear_RowsDoNotDependOnTheBatch_NorOnTheThreadCount(int inFeatures, int outFeatures)
    {
        torch.manual_seed(6);
        using var linear = nn.Linear(inFeatures, outFeatures);
        foreach (var threads in s_threadCounts)
        {
            AssertRowsInvariant([inFeatures], x => BatchInvariant.Linear(linear, x), threads);
        }

        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var x = torch.randn([4, inFeatures]);
        var outputs = s_threadCounts.Select(threads => Threads.With(threads, () => BatchInvariant.Linear(linear, x))).ToArray();
        Assert.IsTrue(outputs.All(o => o.equal(outputs[0]).all().item<bool>()), "1, 2 and 4 threads");
        Assert.IsTrue(outputs[0].allclose(linear.forward(x), rtol: 1e-5, atol: 1e-6), "the layer's own product, within rounding");
    }

    [TestMethod]
    [DataRow(1, 28, 28)]    // 784 values an image: 16 past a whole number of AVX-512 loop steps (whole AVX2 ones)
    [DataRow(3, 5, 5)]      // 75: no whole number of steps on either
    [DataRow(1, 7, 7)]
    [DataRow(32, 15, 15)]   // whole steps, but odd batches on 2 threads cut mid-step
    [DataRow(64, 32, 32)]   // already aligned: no copy
    public void Silu_RowsDoNotDependOnTheBatch(int channels, int height, int width)
    {
        foreach (var threads in s_threadCounts)
        {
            AssertRowsInvariant([channels, height, width], BatchInvariant.Silu, threads);
        }
    }

    [TestMethod]
    public void Silu_AtensOwn_DoesDependOnTheBatch()
    {
        // The control: the shapes above do exercise the scalar tail, whose exp rounds differently from the vector one
        // (24 of these 64 images differ alone and in the batch, with ATen's AVX-512 and its AVX2 kernels alike).
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(5);
        var images = torch.randn([64, 3, 5, 5]) * 4;
        var all = nn.functional.silu(images);
        var differing = Enumerable.Range(0, 64).Count(i => !nn.functional.silu(images.narrow(0, i, 1)).equal(all.narrow(0, i, 1)).all().item<bool>());
        Assert.IsGreaterThan(0, differing, "ATen's own SiLU gave every image the same values alone and in the batch");
    }

    [TestMethod]
    public void OtherTypes_RunTheOrdinaryOperations()
    {
        // float64 (and any device but the CPU) takes ATen's own kernels: the same function, no oneDNN form.
        torch.manual_seed(7);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var conv = nn.Conv2d(4, 8, 3, padding: 1).to(ScalarType.Float64);
        var linear = nn.Linear(4, 8).to(ScalarType.Float64);
        var x = torch.randn([2, 4, 5, 5], ScalarType.Float64);
        var rows = torch.randn([3, 4], ScalarType.Float64);
        Assert.IsTrue(BatchInvariant.Conv2d(conv, x).equal(conv.forward(x)).all().item<bool>());
        Assert.IsTrue(BatchInvariant.Linear(linear, rows).equal(linear.forward(rows)).all().item<bool>());
        Assert.IsTrue(BatchInvariant.Linear(linear.weight, linear.bias, rows).equal(linear.forward(rows)).all().item<bool>());
        Assert.AreEqual(ScalarType.Float64, BatchInvariant.Silu(x).dtype);
    }

    [TestMethod]
    public void Silu_IsSiluWithinRounding()
    {
        torch.manual_seed(4);
        using var scope = torch.NewDisposeScope();
        var x = torch.randn([5, 1, 28, 28]) * 4;
        var ours = BatchInvariant.Silu(x);
        CollectionAssert.AreEqual(x.shape, ours.shape);
        Assert.IsTrue(ours.allclose(x * torch.sigmoid(x), rtol: 1e-6, atol: 1e-7));
    }

    [TestMethod]
    [DataRow(784L, 1, 832L)]
    [DataRow(832L, 2, 832L)]              // under the grain: one chunk
    [DataRow(6L * 6272, 2, 6L * 6272)]    // two chunks of 18,816 = 294 × 64
    [DataRow(5L * 7200, 2, 36_096L)]      // 36,032 would cut chunks of 18,016 = 281.5 × 64
    [DataRow(100_000L, 3, 100_032L)]
    [DataRow(0L, 4, 0L)]
    public void AlignedLength_IsTheFirstLengthWithWholeVectorChunks(long length, int threads, long expected)
    {
        var aligned = BatchInvariant.AlignedLength(length, threads);
        Assert.AreEqual(expected, aligned);
        var chunks = aligned <= BatchInvariant.GrainSize ? 1 : Math.Min(threads, (aligned + BatchInvariant.GrainSize - 1) / BatchInvariant.GrainSize);
        Assert.AreEqual(0, (aligned + chunks - 1) / chunks % BatchInvariant.Alignment);
    }

    /// <summary>
    /// Runs <paramref name="operation"/> on 64 random images, then on batches of 1 to 17 of them at the start and the end,
    /// on <paramref name="threads"/> threads, and asserts every image's output is the same float32 values each time.
    /// </summary>
    internal static void AssertRowsInvariant(long[] imageShape, Func<Tensor, Tensor> operation, int threads)
    {
        var mismatches = Threads.With(threads, () =>
        {
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            torch.manual_seed(5);
            var images = torch.randn([64, .. imageShape]);
            var all = operation(images);
            var found = new List<string>();
            foreach (var batch in s_batches)
            {
                foreach (var start in new[] { 0, 64 - batch }.Distinct())
                {
                    var part = operation(images.narrow(0, start, batch));
                    if (!part.equal(all.narrow(0, start, batch)).all().item<bool>())
                    {
                        found.Add($"batch {batch} at {start}");
                    }
                }
            }

            return found;
        });
        Assert.IsEmpty(mismatches, $"{threads} thread(s): {string.Join(", ", mismatches)}");
    }
}
