using DeepSharp.Data;

namespace DeepSharp.IO.Tests;

/// <summary>CSV of numbers: headers, the label split, and errors that name the line and column.</summary>
public class CsvTests
{
    private static int _files;

    private static string Write(TempDir dir, string text)
    {
        var path = dir.File($"data{Interlocked.Increment(ref _files)}.csv");
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void ReadsAMatrixWithOrWithoutAHeader()
    {
        using var dir = new TempDir();
        using var m = Csv.Read(Write(dir, "a,b,c\n1,2.5,-3\n\"4\", 5e1 ,6\n\n"));
        Assert.Equal([2, 3], m.Shape);
        Assert.Equal([1f, 2.5f, -3f, 4f, 50f, 6f], m.ToArray<float>());
        using var noHeader = Csv.Read(Write(dir, "1;2\n3;4\n"), separator: ';');
        Assert.Equal([1f, 2f, 3f, 4f], noHeader.ToArray<float>());
        using var forced = Csv.Read(Write(dir, "1,2\n3,4\n"), hasHeader: true);
        Assert.Equal([3f, 4f], forced.ToArray<float>());
    }

    [Fact]
    public void ReadDatasetSplitsTheLabelColumn()
    {
        using var dir = new TempDir();
        var path = Write(dir, "x,y,label\n0.5,1,2\n1.5,2,0\n");
        var last = Csv.ReadDataset(path);
        Assert.Equal(2, last.Count);
        Assert.Equal([2], last.FeatureShape);
        Assert.Equal(DType.Int64, last.LabelDType);
        Assert.Equal([1.5f, 2f], last[1].Features.ToArray<float>());
        Assert.Equal(0L, last[1].Label.Item<long>());
        var first = Csv.ReadDataset(Write(dir, "3,0.5,1\n4,1.5,2\n"), labelColumn: 0);
        Assert.Equal([0.5f, 1f], first[0].Features.ToArray<float>());
        Assert.Equal(4L, first[1].Label.Item<long>());
        Assert.Throws<ArgumentOutOfRangeException>(() => Csv.ReadDataset(path, labelColumn: 3));
        Assert.Contains("not a whole number", Assert.Throws<DataFormatException>(() => Csv.ReadDataset(path, labelColumn: 0)).Message);
    }

    [Fact]
    public void BadRowsAreNamed()
    {
        using var dir = new TempDir();
        var ragged = Assert.Throws<DataFormatException>(() => Csv.Read(Write(dir, "1,2,3\n4,5\n")));
        Assert.Contains("line 2 has 2 fields; the first line has 3", ragged.Message);
        Assert.StartsWith(dir.Path, ragged.FilePath);
        Assert.Contains("line 3, column 1: 'x' is not a number",
            Assert.Throws<DataFormatException>(() => Csv.Read(Write(dir, "a,b\n1,2\n3,x\n"))).Message);
        Assert.Contains("no rows", Assert.Throws<DataFormatException>(() => Csv.Read(Write(dir, "a,b\n"))).Message);
    }
}
