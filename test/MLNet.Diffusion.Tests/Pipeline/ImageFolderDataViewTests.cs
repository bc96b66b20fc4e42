using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Diffusion.Images;
using MLNet.Diffusion.Pipeline;
using MLNet.Diffusion.Tests.Images;

namespace MLNet.Diffusion.Tests.Pipeline;

[TestClass]
public sealed class ImageFolderDataViewTests
{
    public sealed class Row
    {
        public string Path { get; set; } = "";

        public uint Label { get; set; }

        public float[] Pixels { get; set; } = [];
    }

    public sealed class LabelRow
    {
        public string Path { get; set; } = "";

        public uint Label { get; set; }
    }

    public sealed class NamedRow
    {
        public string ClassName { get; set; } = "";
    }

    [TestMethod]
    public void Constructor_LabelledFolder_HasPathKeyLabelWithClassNamesAndPixels()
    {
        using var folder = LabelledFolder();

        var view = new ImageFolderDataView(folder.Path, imageSize: 8, channels: 3, ImageResizeMode.Fill);

        Assert.AreEqual("Path,Label,Pixels", string.Join(",", view.Schema.Select(c => c.Name)));
        Assert.AreEqual(TextDataViewType.Instance, view.Schema["Path"].Type);
        var key = (KeyDataViewType)view.Schema["Label"].Type;
        Assert.AreEqual(typeof(uint), key.RawType);
        Assert.AreEqual(2UL, key.Count);
        var names = default(VBuffer<ReadOnlyMemory<char>>);
        view.Schema["Label"].GetKeyValues(ref names);
        CollectionAssert.AreEqual(new[] { "cat", "dog" }, names.DenseValues().Select(n => n.ToString()).ToArray());
        var pixels = (VectorDataViewType)view.Schema["Pixels"].Type;
        Assert.AreEqual(NumberDataViewType.Single, pixels.ItemType);
        CollectionAssert.AreEqual(new[] { 3, 8, 8 }, pixels.Dimensions.ToArray());
        Assert.AreEqual(3L, view.GetRowCount());
        Assert.IsTrue(view.CanShuffle);
    }

    [TestMethod]
    public void Constructor_FolderWithoutClassFolders_HasNoLabelColumn()
    {
        using var folder = new TempFolder();
        ImageCodec.SavePng(Solid(4, 4, [10, 20, 30]), folder.File("a.png"));

        var view = new ImageFolderDataView(folder.Path, imageSize: 4, channels: 1, pathColumn: "File", pixelsColumn: "Image");

        Assert.AreEqual("File,Image", string.Join(",", view.Schema.Select(c => c.Name)));
        CollectionAssert.AreEqual(new[] { 1, 4, 4 }, ((VectorDataViewType)view.Schema["Image"].Type).Dimensions.ToArray());
        Assert.AreEqual(0, view.ClassNames.Count);
    }

    [TestMethod]
    public void Constructor_InvalidArguments_ThrowNamingTheParameter()
    {
        using var folder = LabelledFolder();

        Assert.AreEqual("imageSize", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ImageFolderDataView(folder.Path, 0)).ParamName);
        Assert.AreEqual("channels", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ImageFolderDataView(folder.Path, 8, channels: 2)).ParamName);
        Assert.AreEqual("resizeMode",
            Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ImageFolderDataView(folder.Path, 8, resizeMode: (ImageResizeMode)7)).ParamName);
        Assert.AreEqual("folder", Assert.ThrowsExactly<ArgumentException>(() => new ImageFolderDataView("", 8)).ParamName);
        Assert.AreEqual("labelColumn", Assert.ThrowsExactly<ArgumentException>(() => new ImageFolderDataView(folder.Path, 8, labelColumn: "Pixels")).ParamName);
        Assert.ThrowsExactly<DirectoryNotFoundException>(() => new ImageFolderDataView(folder.File("missing"), 8));
    }

    [TestMethod]
    public void PixelsGetter_KnownPng_GivesPlanarFloatsInMinusOneToOne()
    {
        using var folder = new TempFolder();
        var image = new Image(8, 8, 3);
        for (var y = 0; y < 8; y++)
        {
            for (var x = 0; x < 8; x++)
            {
                (image[x, y, 0], image[x, y, 1], image[x, y, 2]) = ((byte)(x * 30), (byte)(y * 30), (byte)(255 - (x * y)));
            }
        }

        ImageCodec.SavePng(image, folder.File("known.png"));

        var view = new ImageFolderDataView(folder.Path, imageSize: 8, channels: 3, ImageResizeMode.Fill);
        using var cursor = view.GetRowCursor(view.Schema);
        var getter = cursor.GetGetter<VBuffer<float>>(view.Schema["Pixels"]);
        Assert.IsTrue(cursor.MoveNext());
        var pixels = default(VBuffer<float>);
        getter(ref pixels);

        // Planar [channel, y, x]; an 8×8 image at size 8 is not resampled, so each value is exactly byte / 127.5 − 1.
        var values = pixels.DenseValues().ToArray();
        Assert.AreEqual(3 * 8 * 8, values.Length);
        for (var c = 0; c < 3; c++)
        {
            for (var y = 0; y < 8; y++)
            {
                for (var x = 0; x < 8; x++)
                {
                    Assert.AreEqual((image[x, y, c] / 127.5f) - 1f, values[(c * 64) + (y * 8) + x], $"channel {c}, x {x}, y {y}");
                }
            }
        }

        Assert.AreEqual(-1f, values[0]);             // red of (0, 0): 0
        Assert.AreEqual(1f, values[(2 * 64) + 0]);   // blue of (0, 0): 255
        Assert.IsFalse(cursor.MoveNext());
    }

    [TestMethod]
    public void CreateEnumerable_LabelledFolder_ReadsPathsKeysAndPixelsInListingOrder()
    {
        using var folder = LabelledFolder();
        var ml = new MLContext(seed: 1);
        var view = new ImageFolderDataView(folder.Path, imageSize: 4, channels: 3, ImageResizeMode.Fill);

        var rows = ml.Data.CreateEnumerable<Row>(view, reuseRowObject: false).ToList();

        CollectionAssert.AreEqual(
            new[] { Path.Combine(folder.Path, "cat", "a.png"), Path.Combine(folder.Path, "cat", "b.png"), Path.Combine(folder.Path, "dog", "c.png") },
            rows.Select(r => r.Path).ToArray());
        CollectionAssert.AreEqual(new uint[] { 1, 1, 2 }, rows.Select(r => r.Label).ToArray());
        Assert.IsTrue(rows.All(r => r.Pixels.Length == 3 * 4 * 4));

        // c.png is solid (255, 0, 0), resized 8×8 to 4×4: red 1, green and blue −1 everywhere.
        Assert.IsTrue(rows[2].Pixels[..16].All(v => v == 1f));
        Assert.IsTrue(rows[2].Pixels[16..].All(v => v == -1f));
    }

    [TestMethod]
    public void LoadImageFolder_ExcludedFiles_LeavesThemOutAndKeepsTheOrderOfTheRest()
    {
        using var folder = LabelledFolder();
        var ml = new MLContext(seed: 1);

        // Either separator; a name that is not one of the images (deleted since, say) changes nothing.
        var view = ml.Diffusion().LoadImageFolder(folder.Path, imageSize: 4, excludedFiles: ["cat/a.png", "dog/gone.png"]);

        var rows = ml.Data.CreateEnumerable<LabelRow>(view, reuseRowObject: false).ToList();
        CollectionAssert.AreEqual(new[] { Path.Combine(folder.Path, "cat", "b.png"), Path.Combine(folder.Path, "dog", "c.png") }, rows.Select(r => r.Path).ToArray());
        CollectionAssert.AreEqual(new uint[] { 1, 2 }, rows.Select(r => r.Label).ToArray(), "the classes stay those of the sub-folders");
    }

    [TestMethod]
    public void LoadImageFolder_ExcludingAClassFolderEntirely_ThrowsNamingIt()
    {
        using var folder = LabelledFolder();
        var ml = new MLContext(seed: 1);

        var error = Assert.ThrowsExactly<InvalidDataException>(() => ml.Diffusion().LoadImageFolder(folder.Path, imageSize: 4, excludedFiles: ["dog/c.png"]));

        StringAssert.StartsWith(error.Message, $"Class folder '{Path.Combine(folder.Path, "dog")}' holds no images besides the files left out");
    }

    [TestMethod]
    public void MapKeyToValue_Label_GivesClassFolderNames()
    {
        using var folder = LabelledFolder();
        var ml = new MLContext(seed: 1);
        var view = new ImageFolderDataView(folder.Path, imageSize: 4);

        var named = ml.Transforms.Conversion.MapKeyToValue("ClassName", "Label").Fit(view).Transform(view);

        CollectionAssert.AreEqual(new[] { "cat", "cat", "dog" }, ml.Data.CreateEnumerable<NamedRow>(named, false).Select(r => r.ClassName).ToArray());
    }

    [TestMethod]
    public void TakeRowsAndCache_OnTheView_GiveTheSameRows()
    {
        using var folder = LabelledFolder();
        var ml = new MLContext(seed: 1);
        var view = new ImageFolderDataView(folder.Path, imageSize: 4);
        var all = ml.Data.CreateEnumerable<Row>(view, false).ToList();

        var taken = ml.Data.CreateEnumerable<Row>(ml.Data.TakeRows(view, 2), false).ToList();
        var cached = ml.Data.Cache(view);
        var fromCache = ml.Data.CreateEnumerable<Row>(cached, false).ToList();
        var again = ml.Data.CreateEnumerable<Row>(cached, false).ToList();

        CollectionAssert.AreEqual(all.Take(2).Select(r => r.Path).ToArray(), taken.Select(r => r.Path).ToArray());
        Assert.AreEqual(3, fromCache.Count);
        for (var i = 0; i < 3; i++)
        {
            Assert.AreEqual(all[i].Path, fromCache[i].Path);
            Assert.AreEqual(all[i].Label, again[i].Label);
            CollectionAssert.AreEqual(all[i].Pixels, fromCache[i].Pixels);
            CollectionAssert.AreEqual(all[i].Pixels, again[i].Pixels);
        }
    }

    [TestMethod]
    public void PathAndLabelCursor_FolderWithCorruptImage_DecodesNothingUntilPixelsAreAsked()
    {
        using var folder = new TempFolder();
        Directory.CreateDirectory(folder.File("good"));
        Directory.CreateDirectory(folder.File("bad"));
        ImageCodec.SavePng(Solid(8, 8, [1, 2, 3]), folder.File(Path.Combine("good", "fine.png")));
        File.WriteAllBytes(folder.File(Path.Combine("bad", "broken.png")), [1, 2, 3]);
        var ml = new MLContext(seed: 1);

        var view = new ImageFolderDataView(folder.Path, imageSize: 8);

        Assert.AreEqual(2L, view.GetRowCount());
        var rows = ml.Data.CreateEnumerable<LabelRow>(view, false).ToList();
        CollectionAssert.AreEqual(new uint[] { 1, 2 }, rows.Select(r => r.Label).ToArray());
        StringAssert.EndsWith(rows[0].Path, "broken.png");

        using var cursor = view.GetRowCursor(view.Schema);
        var pixels = cursor.GetGetter<VBuffer<float>>(view.Schema["Pixels"]);
        var buffer = default(VBuffer<float>);
        Assert.IsTrue(cursor.MoveNext());
        var error = Assert.ThrowsExactly<InvalidDataException>(() => pixels(ref buffer));
        StringAssert.Contains(error.Message, "broken.png");
        Assert.IsTrue(cursor.MoveNext());
        pixels(ref buffer);
        Assert.AreEqual(3 * 8 * 8, buffer.Length);
    }

    [TestMethod]
    public void GetGetter_InactiveColumnOrWrongType_ThrowsNamingColumnAndTypes()
    {
        using var folder = LabelledFolder();
        var view = new ImageFolderDataView(folder.Path, imageSize: 4);

        using var cursor = view.GetRowCursor([view.Schema["Path"]]);

        Assert.IsTrue(cursor.IsColumnActive(view.Schema["Path"]));
        Assert.IsFalse(cursor.IsColumnActive(view.Schema["Pixels"]));
        var inactive = Assert.ThrowsExactly<InvalidOperationException>(() => cursor.GetGetter<VBuffer<float>>(view.Schema["Pixels"]));
        StringAssert.Contains(inactive.Message, "'Pixels' is not active");
        var wrongType = Assert.ThrowsExactly<InvalidOperationException>(() => cursor.GetGetter<string>(view.Schema["Path"]));
        StringAssert.Contains(wrongType.Message, "'Path'");
        StringAssert.Contains(wrongType.Message, "System.String");
        StringAssert.Contains(wrongType.Message, "System.ReadOnlyMemory`1[System.Char]");
        var path = cursor.GetGetter<ReadOnlyMemory<char>>(view.Schema["Path"]);
        var value = default(ReadOnlyMemory<char>);
        Assert.ThrowsExactly<InvalidOperationException>(() => path(ref value));  // before MoveNext
    }

    [TestMethod]
    public void GetRowCursor_SeededRandom_GivesTheSamePermutationForTheSameSeed()
    {
        using var folder = new TempFolder();
        for (var i = 0; i < 10; i++)
        {
            // Never decoded: only ids and paths are read.
            File.WriteAllBytes(folder.File($"{i:D2}.png"), []);
        }

        var view = new ImageFolderDataView(folder.Path, imageSize: 8);

        var ordered = RowIds(view.GetRowCursor([], rand: null));
        var first = RowIds(view.GetRowCursor([], new Random(42)));
        var second = RowIds(view.GetRowCursor([], new Random(42)));
        var other = RowIds(view.GetRowCursor([], new Random(7)));

        CollectionAssert.AreEqual(Enumerable.Range(0, 10).Select(i => (ulong)i).ToArray(), ordered);
        CollectionAssert.AreEqual(first, second);
        CollectionAssert.AreEquivalent(ordered, first);
        CollectionAssert.AreNotEqual(ordered, first);
        CollectionAssert.AreNotEqual(first, other);

        // The order is PositionalDataView.Permutation's Fisher–Yates over rand.Next, so a caller can draw it itself.
        CollectionAssert.AreEqual(PositionalDataView.Permutation(10, new Random(42)).Select(p => (ulong)p).ToArray(), first);

        // The cursor's paths follow its ids.
        using var cursor = view.GetRowCursor([view.Schema["Path"]], new Random(42));
        var path = cursor.GetGetter<ReadOnlyMemory<char>>(view.Schema["Path"]);
        var value = default(ReadOnlyMemory<char>);
        Assert.IsTrue(cursor.MoveNext());
        path(ref value);
        Assert.AreEqual(view.Files[(int)first[0]], value.ToString());
    }

    [TestMethod]
    public void GetRowCursor_Positions_VisitsExactlyThosePositionsInOrder()
    {
        using var folder = new TempFolder();
        for (var i = 0; i < 8; i++)
        {
            File.WriteAllBytes(folder.File($"{i}.jpg"), []);
        }

        var view = new ImageFolderDataView(folder.Path, imageSize: 8);

        using var cursor = view.GetRowCursor([view.Schema["Path"]], positions: [3, 0, 3, 7]);
        var path = cursor.GetGetter<ReadOnlyMemory<char>>(view.Schema["Path"]);
        var id = cursor.GetIdGetter();
        var visited = new List<(long Position, ulong Id, string Path)>();
        while (cursor.MoveNext())
        {
            var (rowId, value) = (default(DataViewRowId), default(ReadOnlyMemory<char>));
            id(ref rowId);
            path(ref value);
            visited.Add((cursor.Position, rowId.Low, Path.GetFileName(value.ToString())));
            Assert.AreEqual(0L, cursor.Batch);
        }

        CollectionAssert.AreEqual(new[] { (0L, 3UL, "3.jpg"), (1L, 0UL, "0.jpg"), (2L, 3UL, "3.jpg"), (3L, 7UL, "7.jpg") }, visited);
        Assert.AreEqual(-1L, cursor.Position);
        Assert.IsFalse(cursor.MoveNext());
        var error = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => view.GetRowCursor([], positions: [0, 8]));
        Assert.AreEqual("positions", error.ParamName);
    }

    private static ulong[] RowIds(DataViewRowCursor cursor)
    {
        using (cursor)
        {
            var getter = cursor.GetIdGetter();
            var ids = new List<ulong>();
            while (cursor.MoveNext())
            {
                var id = default(DataViewRowId);
                getter(ref id);
                Assert.AreEqual(0UL, id.High);
                ids.Add(id.Low);
            }

            return [.. ids];
        }
    }

    /// <summary>cat/a.png, cat/b.png (8×8 gray and green) and dog/c.png (8×8 red).</summary>
    private static TempFolder LabelledFolder()
    {
        var folder = new TempFolder();
        Directory.CreateDirectory(folder.File("cat"));
        Directory.CreateDirectory(folder.File("dog"));
        ImageCodec.SavePng(Solid(8, 8, [128]), folder.File(Path.Combine("cat", "a.png")));
        ImageCodec.SavePng(Solid(8, 8, [0, 255, 0]), folder.File(Path.Combine("cat", "b.png")));
        ImageCodec.SavePng(Solid(8, 8, [255, 0, 0]), folder.File(Path.Combine("dog", "c.png")));
        return folder;
    }

    private static Image Solid(int width, int height, byte[] color)
    {
        var image = new Image(width, height, color.Length);
        for (var i = 0; i < image.Pixels.Length; i++)
        {
            image.Pixels[i] = color[i % color.Length];
        }

        return image;
    }
}
