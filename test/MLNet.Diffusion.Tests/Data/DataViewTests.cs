using MLNet.Diffusion.Data;
using MLNet.Diffusion.Pipelines;

namespace MLNet.Diffusion.Tests.Data;

[TestClass]
public sealed class DataViewTests
{
    private static readonly DiffusionContext s_context = new(seed: 5);

    public sealed class Item
    {
        public string Name { get; init; } = "";

        public int Number { get; init; }

        public float[] Values { get; init; } = [];
    }

    [TestMethod]
    public void LoadFromImageFolder_ListsRelativePathsWithKeyLabels_AndDecodesNothing()
    {
        using var folder = new TempFolder();
        Directory.CreateDirectory(folder.File("b"));
        Directory.CreateDirectory(folder.File("a"));
        PngCodec.Save(JpegCodecTests.SolidImage(4, 4, [1, 2, 3]), folder.File(Path.Combine("b", "x.png")));
        File.WriteAllBytes(folder.File(Path.Combine("a", "broken.png")), [1, 2, 3]);  // listed, never decoded here

        var view = s_context.Data.LoadFromImageFolder(folder.Path);
        Assert.AreEqual("Path: Text, Label: Key(2)", view.Schema.ToString());
        Assert.AreEqual(2L, view.GetRowCount());
        var rows = view.GetRows().ToList();
        Assert.AreEqual(Path.Combine("a", "broken.png"), rows[0].GetValue<string>("Path"));
        Assert.AreEqual(0L, rows[0].GetValue<long>("Label"));
        Assert.AreEqual(1L, view.GetRow(1).GetValue<long>("Label"));

        // The broken file fails only when a row that loads it is read, naming the file.
        var loaded = s_context.Transforms.LoadImages("Image", folder.Path, "Path").Fit(view).Transform(view);
        Assert.AreEqual(3, loaded.GetRow(1).GetValue<Image>("Image").Channels);
        var error = Assert.ThrowsExactly<InvalidDataException>(() => loaded.GetRow(0));
        StringAssert.Contains(error.Message, "broken.png");
    }

    [TestMethod]
    public void LoadFromIdx_GivesKnownSizeImagesAndKeyLabels()
    {
        using var folder = new TempFolder();
        var images = folder.Write("images.idx", IdxBytes.UnsignedBytes([.. Enumerable.Range(0, 3 * 2 * 2).Select(i => (byte)(i * 10))], 3, 2, 2));
        var labels = folder.Write("labels.idx.gz", IdxBytes.Gzip(IdxBytes.UnsignedBytes([2, 0, 4], 3)));

        var view = s_context.Data.LoadFromIdx(images, labels);
        Assert.AreEqual("Image: Image 2×2×1, Label: Key(5)", view.Schema.ToString());
        var row = view.GetRow(1);
        CollectionAssert.AreEqual(new byte[] { 40, 50, 60, 70 }, row.GetValue<Image>("Image").Pixels.ToArray());
        Assert.AreEqual(0L, row.GetValue<long>("Label"));

        var wrong = folder.Write("short.idx", IdxBytes.UnsignedBytes([1, 2], 2));
        var error = Assert.ThrowsExactly<InvalidDataException>(() => s_context.Data.LoadFromIdx(images, wrong));
        StringAssert.Contains(error.Message, "one label per image");
    }

    [TestMethod]
    public void LoadFromEnumerable_ListHasRandomAccess_SequenceStreamsUntilCached()
    {
        Item[] items = [new() { Name = "a", Number = 1, Values = [1f] }, new() { Name = "b", Number = 2, Values = [2f, 3f] }];
        var list = s_context.Data.LoadFromEnumerable(items);
        Assert.AreEqual("Name: Text, Number: WholeNumber, Values: Vector<float> (any size)", list.Schema.ToString());
        Assert.IsTrue(list.CanGetRow);
        Assert.AreEqual(2L, list.GetRow(1).GetValue<long>("Number"));

        var reads = 0;
        IEnumerable<Item> Sequence()
        {
            foreach (var item in items)
            {
                reads++;
                yield return item;
            }
        }

        var stream = s_context.Data.LoadFromEnumerable(Sequence());
        Assert.IsFalse(stream.CanGetRow);
        Assert.IsNull(stream.GetRowCount());
        Assert.AreEqual(0, reads, "nothing is read before the rows are");
        Assert.ThrowsExactly<NotSupportedException>(() => stream.GetRow(0));
        var cached = s_context.Data.Cache(stream);
        Assert.AreEqual(2, reads);
        Assert.AreEqual("b", cached.GetRow(1).GetValue<string>("Name"));
        _ = cached.GetRows().ToList();
        Assert.AreEqual(2, reads, "a cache reads its source once");

        var error = Assert.ThrowsExactly<ArgumentException>(() => s_context.Data.ShuffleRows(stream));
        StringAssert.Contains(error.Message, "Data.Cache");
    }

    [TestMethod]
    public void LoadFromEnumerable_WithSchema_ChecksEveryValue()
    {
        var schema = new DataViewSchema([new("Values", ColumnType.Vector([2])), new("Number", ColumnType.Key(2))]);
        var view = s_context.Data.LoadFromEnumerable(new[] { new Item { Values = [1f, 2f], Number = 1 }, new Item { Values = [1f], Number = 1 } }, schema);
        Assert.AreEqual(1L, view.GetRow(0).GetValue<long>("Number"));
        var error = Assert.ThrowsExactly<InvalidDataException>(() => view.GetRow(1));
        Assert.AreEqual("Row 1, column 'Values': a vector of 1 floats is not a value of Vector<float> [2].", error.Message);
    }

    [TestMethod]
    public void ShuffleRows_IsAPermutationDecidedByTheSeed()
    {
        var view = s_context.Data.LoadFromEnumerable(Enumerable.Range(0, 50).Select(i => new Item { Number = i }).ToList());
        long[] Order(IDataView v) => [.. v.GetRows().Select(r => r.GetValue<long>("Number"))];
        var first = Order(s_context.Data.ShuffleRows(view, seed: 1));
        CollectionAssert.AreEqual(first, Order(s_context.Data.ShuffleRows(view, seed: 1)));
        CollectionAssert.AreNotEqual(first, Order(s_context.Data.ShuffleRows(view, seed: 2)));
        CollectionAssert.AreEqual(Enumerable.Range(0, 50).Select(i => (long)i).ToArray(), first.Order().ToArray());
        CollectionAssert.AreEqual(Order(s_context.Data.ShuffleRows(view, seed: 5)), Order(s_context.Data.ShuffleRows(view)), "the context's seed is the default");
        CollectionAssert.AreEqual(first[..3], Order(s_context.Data.TakeRows(s_context.Data.ShuffleRows(view, seed: 1), 3)));
    }
}
