using Microsoft.ML;
using Microsoft.ML.Data;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MLNet.Diffusion.Datasets;
using MLNet.Diffusion.Images;
using MLNet.Diffusion.Pipeline;
using MLNet.Diffusion.Tests.Datasets;
using MLNet.Diffusion.Tests.Images;

namespace MLNet.Diffusion.Tests.Pipeline;

[TestClass]
public sealed class IdxDataViewTests
{
    public sealed class Row
    {
        public uint Label { get; set; }

        public float[] Pixels { get; set; } = [];
    }

    public sealed class NamedRow
    {
        public string ClassName { get; set; } = "";
    }

    [TestMethod]
    public void Open_ImagesAndLabels_HasPixelsAndKeyLabelCountedFromTheLabels()
    {
        using var folder = new TempFolder();
        var (images, labels) = WritePair(folder, count: 3, labels: [2, 0, 4]);

        using var view = IdxDataView.Open(images, labels);

        Assert.AreEqual("Pixels,Label", string.Join(",", view.Schema.Select(c => c.Name)));
        var pixels = (VectorDataViewType)view.Schema["Pixels"].Type;
        Assert.AreEqual(NumberDataViewType.Single, pixels.ItemType);
        CollectionAssert.AreEqual(new[] { 1, 3, 2 }, pixels.Dimensions.ToArray());
        var key = (KeyDataViewType)view.Schema["Label"].Type;
        Assert.AreEqual(typeof(uint), key.RawType);
        Assert.AreEqual(5UL, key.Count);  // the largest label, 4, + 1
        Assert.IsNull(view.Schema["Label"].Annotations.Schema.GetColumnOrNull("KeyValues"));
        Assert.AreEqual(3L, view.GetRowCount());
        Assert.AreEqual(images, view.ImagesDataPath);  // a plain file is read in place
    }

    [TestMethod]
    public void Open_ImagesOnly_HasNoLabelColumn()
    {
        using var folder = new TempFolder();
        var (images, _) = WritePair(folder, count: 2, labels: [0, 0]);

        using var view = IdxDataView.Open(images, pixelsColumn: "Image");

        Assert.AreEqual("Image", string.Join(",", view.Schema.Select(c => c.Name)));
    }

    [TestMethod]
    public void CreateEnumerable_PlainFiles_ScalesBytesToMinusOneToOneAndShiftsKeys()
    {
        using var folder = new TempFolder();
        var (images, labels) = WritePair(folder, count: 3, labels: [2, 0, 4]);
        var ml = new MLContext(seed: 1);
        using var view = IdxDataView.Open(images, labels);

        var rows = ml.Data.CreateEnumerable<Row>(view, false).ToList();

        // WritePair's byte i is i × 20 (wrapping at 256): row 1 holds bytes 6..11.
        CollectionAssert.AreEqual(new uint[] { 3, 1, 5 }, rows.Select(r => r.Label).ToArray());
        CollectionAssert.AreEqual(Enumerable.Range(6, 6).Select(i => ((byte)(i * 20) / 127.5f) - 1f).ToArray(), rows[1].Pixels);
        Assert.AreEqual(-1f, rows[0].Pixels[0]);
    }

    [TestMethod]
    public void PixelsGetter_CallersBuffer_IsReused()
    {
        using var folder = new TempFolder();
        var (images, _) = WritePair(folder, count: 2, labels: [0, 1]);
        using var view = IdxDataView.Open(images);
        using var cursor = view.GetRowCursor(view.Schema);
        var getter = cursor.GetGetter<VBuffer<float>>(view.Schema["Pixels"]);
        var buffer = default(VBuffer<float>);

        Assert.IsTrue(cursor.MoveNext());
        getter(ref buffer);
        var first = buffer.DenseValues().ToArray();
        ref var storage = ref MemoryMarshal.GetReference(buffer.GetValues());
        Assert.IsTrue(cursor.MoveNext());
        getter(ref buffer);

        Assert.IsTrue(Unsafe.AreSame(ref storage, ref MemoryMarshal.GetReference(buffer.GetValues())));
        CollectionAssert.AreNotEqual(first, buffer.DenseValues().ToArray());
    }

    [TestMethod]
    public void OpenFashionMnist_FirstRows_MatchLoadTrainAndMapToClassNames()
    {
        if (!Directory.Exists(FashionMnist.DefaultDirectory))
        {
            Assert.Fail($"{FashionMnist.DefaultDirectory} is missing: install Debian's dataset-fashion-mnist (./build.sh does).");
        }

        var ml = new MLContext(seed: 1);
        using var view = IdxDataView.OpenFashionMnist(train: true, limit: 3);
        var (images, labels) = FashionMnist.LoadTrain(limit: 3);
        using (images)
        using (labels)
        {
            Assert.AreEqual(3L, view.GetRowCount());
            CollectionAssert.AreEqual(new[] { 1, 28, 28 }, ((VectorDataViewType)view.Schema["Pixels"].Type).Dimensions.ToArray());
            Assert.AreEqual(10UL, ((KeyDataViewType)view.Schema["Label"].Type).Count);

            var rows = ml.Data.CreateEnumerable<Row>(view, false).ToList();
            var expected = images.data<float>().ToArray();
            var expectedLabels = labels.data<long>().ToArray();
            for (var i = 0; i < 3; i++)
            {
                CollectionAssert.AreEqual(expected[(i * 784)..((i + 1) * 784)], rows[i].Pixels, $"row {i}");
                Assert.AreEqual((uint)expectedLabels[i] + 1, rows[i].Label, $"row {i}");
            }

            var named = ml.Transforms.Conversion.MapKeyToValue("ClassName", "Label").Fit(view).Transform(view);
            CollectionAssert.AreEqual(
                expectedLabels.Select(l => FashionMnist.ClassNames[(int)l]).ToArray(),
                ml.Data.CreateEnumerable<NamedRow>(named, false).Select(r => r.ClassName).ToArray());
        }
    }

    [TestMethod]
    public void Open_GzipFiles_DecompressOnceAndReuseTheCacheFile()
    {
        using var folder = new TempFolder();
        var (plainImages, plainLabels) = WritePair(folder, count: 4, labels: [1, 0, 1, 0]);
        var images = folder.Write("images.gz", IdxBytes.Gzip(File.ReadAllBytes(plainImages)));
        var labels = folder.Write("labels.gz", IdxBytes.Gzip(File.ReadAllBytes(plainLabels)));
        var cache = folder.File("cache");
        var ml = new MLContext(seed: 1);

        List<Row> first;
        string cached;
        using (var view = IdxDataView.Open(images, labels, cacheDirectory: cache))
        {
            first = ml.Data.CreateEnumerable<Row>(view, false).ToList();
            cached = view.ImagesDataPath;
        }

        Assert.AreEqual(cache, Path.GetDirectoryName(cached));
        Assert.AreEqual(2, Directory.GetFiles(cache).Length);  // one per compressed file, no temporary files left
        var marked = new DateTime(2001, 2, 3, 4, 5, 6, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(cached, marked);

        using var again = IdxDataView.Open(images, labels, cacheDirectory: cache);

        Assert.AreEqual(cached, again.ImagesDataPath);
        Assert.AreEqual(marked, File.GetLastWriteTimeUtc(cached));  // not written again
        Assert.AreEqual(2, Directory.GetFiles(cache).Length);
        var second = ml.Data.CreateEnumerable<Row>(again, false).ToList();
        using var plain = IdxDataView.Open(plainImages, plainLabels);
        var fromPlain = ml.Data.CreateEnumerable<Row>(plain, false).ToList();
        for (var i = 0; i < 4; i++)
        {
            CollectionAssert.AreEqual(fromPlain[i].Pixels, first[i].Pixels);
            CollectionAssert.AreEqual(fromPlain[i].Pixels, second[i].Pixels);
            Assert.AreEqual(fromPlain[i].Label, second[i].Label);
        }
    }

    [TestMethod]
    [DataRow("truncated", "only 11 follow (a truncated file?)")]
    [DataRow("trailing", "1 trailing bytes follow")]
    [DataRow("magic", "not 0x00 0x00")]
    [DataRow("int32", "element type code is 0x0C, not 0x08")]
    [DataRow("rank", "it has 2 dimensions, but an image file has 3")]
    [DataRow("header", "before the sizes of its 3 dimensions")]
    public void Open_MalformedImageFile_ThrowsInvalidDataNamingTheFile(string defect, string reason)
    {
        using var folder = new TempFolder();
        var data = Enumerable.Range(0, 12).Select(i => (byte)i).ToArray();
        byte[] bytes = defect switch
        {
            "truncated" => IdxBytes.UnsignedBytes(data[..11], 2, 3, 2),
            "trailing" => IdxBytes.UnsignedBytes([.. data, 0], 2, 3, 2),
            "magic" => [1, .. IdxBytes.UnsignedBytes(data, 2, 3, 2)[1..]],
            "int32" => [.. IdxBytes.Header(0x0C, 1, 3, 1), .. data],
            "rank" => IdxBytes.UnsignedBytes(data, 2, 6),
            _ => IdxBytes.Header(0x08, 2, 3, 2)[..9],
        };
        var path = folder.Write("defective-images.idx", bytes);

        var error = Assert.ThrowsExactly<InvalidDataException>(() => IdxDataView.Open(path));

        StringAssert.Contains(error.Message, $"IDX file '{path}' is invalid");
        StringAssert.Contains(error.Message, reason);
    }

    [TestMethod]
    public void Open_TruncatedGzipFile_ThrowsInvalidDataNamingTheCompressedFile()
    {
        using var folder = new TempFolder();
        var (plain, _) = WritePair(folder, count: 4, labels: [0, 0, 0, 0]);
        var compressed = IdxBytes.Gzip(File.ReadAllBytes(plain));
        var path = folder.Write("cut.gz", compressed[..(compressed.Length / 2)]);

        var error = Assert.ThrowsExactly<InvalidDataException>(() => IdxDataView.Open(path, cacheDirectory: folder.File("cache")));

        StringAssert.Contains(error.Message, $"IDX file '{path}' is invalid");
    }

    [TestMethod]
    public void Open_LabelsDisagreeWithImages_ThrowsClearly()
    {
        using var folder = new TempFolder();
        var (images, _) = WritePair(folder, count: 3, labels: [0, 1, 2]);
        var fewer = folder.Write("fewer-labels.idx", IdxBytes.UnsignedBytes([0, 1], 2));
        var large = folder.Write("large-labels.idx", IdxBytes.UnsignedBytes([0, 1, 9], 3));

        var count = Assert.ThrowsExactly<InvalidDataException>(() => IdxDataView.Open(images, fewer));
        var range = Assert.ThrowsExactly<InvalidDataException>(() => IdxDataView.Open(images, large, classCount: 5));

        StringAssert.Contains(count.Message, "holds 3 images but");
        StringAssert.Contains(count.Message, "fewer-labels.idx' holds 2 labels");
        StringAssert.Contains(range.Message, "label 9 at index 2 is outside the 5 classes");
        Assert.ThrowsExactly<FileNotFoundException>(() => IdxDataView.Open(folder.File("missing.idx")));
        Assert.AreEqual("classNames",
            Assert.ThrowsExactly<ArgumentException>(() => IdxDataView.Open(images, fewer, classCount: 2, classNames: ["a"])).ParamName);
    }

    [TestMethod]
    public void Open_LimitAndClassNames_KeepTheFirstRowsAndNameTheKeys()
    {
        using var folder = new TempFolder();
        var (images, labels) = WritePair(folder, count: 4, labels: [1, 0, 2, 1]);
        var ml = new MLContext(seed: 1);

        using var view = IdxDataView.Open(images, labels, limit: 2, classNames: ["zero", "one", "two", "three"]);

        Assert.AreEqual(2L, view.GetRowCount());
        Assert.AreEqual(4UL, ((KeyDataViewType)view.Schema["Label"].Type).Count);
        var named = ml.Transforms.Conversion.MapKeyToValue("ClassName", "Label").Fit(view).Transform(view);
        CollectionAssert.AreEqual(new[] { "one", "zero" }, ml.Data.CreateEnumerable<NamedRow>(named, false).Select(r => r.ClassName).ToArray());
        Assert.AreEqual("limit", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => IdxDataView.Open(images, labels, limit: 0)).ParamName);
    }

    [TestMethod]
    public void TakeRowsAndCache_OnTheView_GiveTheSameRows()
    {
        using var folder = new TempFolder();
        var (images, labels) = WritePair(folder, count: 5, labels: [4, 3, 2, 1, 0]);
        var ml = new MLContext(seed: 1);
        using var view = IdxDataView.Open(images, labels);
        var all = ml.Data.CreateEnumerable<Row>(view, false).ToList();

        var taken = ml.Data.CreateEnumerable<Row>(ml.Data.TakeRows(view, 3), false).ToList();
        var cached = ml.Data.CreateEnumerable<Row>(ml.Data.Cache(view), false).ToList();

        CollectionAssert.AreEqual(new uint[] { 5, 4, 3 }, taken.Select(r => r.Label).ToArray());
        Assert.AreEqual(5, cached.Count);
        for (var i = 0; i < 5; i++)
        {
            Assert.AreEqual(all[i].Label, cached[i].Label);
            CollectionAssert.AreEqual(all[i].Pixels, cached[i].Pixels);
        }
    }

    [TestMethod]
    public void GetRowCursor_SeededRandomOrPositions_VisitsRowsInThatOrder()
    {
        using var folder = new TempFolder();
        var labels = Enumerable.Range(0, 12).Select(i => (byte)i).ToArray();
        var (images, labelsPath) = WritePair(folder, count: 12, labels: labels);
        using var view = IdxDataView.Open(images, labelsPath);

        var first = Labels(view.GetRowCursor([view.Schema["Label"]], new Random(3)));
        var second = Labels(view.GetRowCursor([view.Schema["Label"]], new Random(3)));
        var other = Labels(view.GetRowCursor([view.Schema["Label"]], new Random(4)));
        var set = view.GetRowCursorSet([view.Schema["Label"]], n: 4, new Random(3));
        var positions = Labels(view.GetRowCursor([view.Schema["Label"]], positions: [11, 2, 2, 5]));

        // Label i is at row i, so the keys (label + 1) show the rows visited.
        CollectionAssert.AreEqual(PositionalDataView.Permutation(12, new Random(3)).Select(p => (uint)p + 1).ToArray(), first);
        CollectionAssert.AreEqual(first, second);
        CollectionAssert.AreNotEqual(first, other);
        CollectionAssert.AreEquivalent(Enumerable.Range(1, 12).Select(i => (uint)i).ToArray(), other);
        Assert.AreEqual(1, set.Length);
        CollectionAssert.AreEqual(first, Labels(set[0]));
        CollectionAssert.AreEqual(new uint[] { 12, 3, 3, 6 }, positions);
    }

    private static uint[] Labels(DataViewRowCursor cursor)
    {
        using (cursor)
        {
            var getter = cursor.GetGetter<uint>(cursor.Schema["Label"]);
            var labels = new List<uint>();
            while (cursor.MoveNext())
            {
                var label = 0u;
                getter(ref label);
                labels.Add(label);
            }

            return [.. labels];
        }
    }

    /// <summary>Plain IDX files: <paramref name="count"/> images of 3×2 with byte i = i × 20 (wrapping), and the labels.</summary>
    private static (string Images, string Labels) WritePair(TempFolder folder, int count, byte[] labels)
    {
        var pixels = Enumerable.Range(0, count * 6).Select(i => (byte)(i * 20)).ToArray();
        return (folder.Write("images.idx", IdxBytes.UnsignedBytes(pixels, count, 3, 2)),
                folder.Write("labels.idx", IdxBytes.UnsignedBytes(labels, labels.Length)));
    }
}
