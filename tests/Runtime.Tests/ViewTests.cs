using DeepSharp;

namespace DeepSharp.Tests;

public class ViewTests
{
    private static Tensor Seq(Device d, params int[] shape) =>
        Tensor.Arange(0, shape.Aggregate(1, (a, b) => a * b), 1, DType.Float32, d).Reshape(shape);

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void MovementOpsAreViewsSharingStorage(string device)
    {
        var d = TestDevices.Use(device);
        var x = Seq(d, 2, 3, 4);
        foreach (var v in new[]
        {
            x.Reshape(6, 4), x.View(4, -1), x.Transpose(0, 2), x.Permute(2, 0, 1), x.Slice(1, 1), x[1], x.Unsqueeze(1),
            x.Expand(5, 2, 3, 4), x[0].T,
        })
            Assert.Same(x.Storage, v.Storage);
        Assert.False(x.Transpose(0, 1).IsContiguous);
        Assert.NotSame(x.Storage, x.Transpose(0, 1).Contiguous().Storage);
        Assert.Same(x, x.Contiguous());
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void ViewsReadTheRightElements(string device)
    {
        var d = TestDevices.Use(device);
        var x = Seq(d, 2, 3, 4);
        Assert.Equal(new float[] { 0, 12, 4, 16, 8, 20 }, x.Permute(2, 1, 0)[0].Flatten().ToArray<float>());
        Assert.Equal(new float[] { 5, 7, 9, 11 }, x.Slice(1, 1).Slice(2, 1, null, 2)[0].Flatten().ToArray<float>());
        Assert.Equal(new float[] { 20, 21, 22, 23 }, x[-1, -1].ToArray<float>());
        Assert.Equal(new[] { 2, 3, 2 }, x.Slice(2, -2).Shape);
        Assert.Equal(new[] { 2, 0, 4 }, x.Slice(1, 5).Shape); // past the end: empty, as in Python slicing
        var col = Tensor.FromArray(new float[] { 1, 2 }, [2, 1], d);
        Assert.Equal(new float[] { 1, 1, 1, 2, 2, 2 }, col.Expand(2, 3).ToArray<float>());
        // Reshape of a transposed (non-contiguous) tensor must copy and keep row-major order of the view.
        Assert.Equal(new float[] { 0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11 }, x[0].T.Reshape(12).ToArray<float>());
        Assert.Throws<InvalidOperationException>(() => x[0].T.View(12));
        Assert.Equal(new[] { 3, 4 }, x[0].Unsqueeze(0).Unsqueeze(-1).Squeeze().Shape);
    }

    [Fact]
    public void BadShapesThrowWithBothShapes()
    {
        var x = Tensor.Zeros(2, 3);
        var e = Assert.Throws<ArgumentException>(() => x.Reshape(4, 2));
        Assert.Contains("[4, 2]", e.Message); Assert.Contains("[2, 3]", e.Message);
        Assert.Throws<ArgumentException>(() => x.Reshape(-1, -1));
        Assert.Throws<ArgumentException>(() => x.Expand(4, 3));
        Assert.Throws<ArgumentException>(() => x.Permute(0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => x.Sum(2));
        Assert.Equal("index", Assert.Throws<ArgumentOutOfRangeException>(() => x[2]).ParamName);
        Assert.Throws<ArgumentException>(() => Tensor.Zeros([-1, 2]));
    }

    [Fact]
    public void SizeOneAndEmptyDims()
    {
        var e = Tensor.Zeros(0, 3);
        Assert.Equal(0, e.Count);
        Assert.Equal(new[] { 3, 0 }, e.T.Shape);
        Assert.Empty(e.Reshape(3, 0, 5).ToArray<float>());
        var s = Tensor.Scalar(4f);
        Assert.Equal(0, s.Rank);
        Assert.Equal(4f, s.Reshape(1, 1).Item());
        Assert.Equal(new[] { 1, 1, 1 }, Tensor.Ones(1, 1, 1).Shape);
    }

    /// <summary>A view of an empty tensor can start past its storage's end (row 4 of [5, 0, 32] starts at element 128, as
    /// in PyTorch); every op on it reads nothing and gives the empty (or identity) result.</summary>
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void ViewsOfEmptyTensorsStartingPastTheirStorage(string device)
    {
        var d = TestDevices.Use(device);
        var row = Tensor.Zeros([5, 0, 32], DType.Float32, d)[4];
        Assert.Equal([0, 32], row.Shape);
        Assert.Equal(0f, row.Sum().Item());
        Assert.True(float.IsNaN(row.Mean().Item()));
        Assert.Equal([32], row.Sum([0]).Shape);
        Assert.Empty((row + 1).ToArray<float>());
        Assert.Empty(row.Exp().Contiguous().ToArray<float>());
        Assert.Equal([0, 3], row.MatMul(Tensor.Ones([32, 3], DType.Float32, d)).Shape);
        Assert.Equal([0, 32], Functional.Softmax(row, -1).Shape);
        Assert.Empty(Tensor.Zeros([0, 32], DType.Float32, d).CopyFrom(row).ToArray<float>());
    }
}

public class LayoutTests
{
    [Fact]
    public void ALayoutCannotBeChangedFromOutside()
    {
        var shape = new[] { 2, 3 }; var strides = new[] { 3, 1 };
        var layout = new Layout(shape, strides, 0);
        shape[0] = 1 << 20; strides[1] = 1000; // the caller's arrays were copied
        Assert.Equal(new[] { 2, 3 }, layout.Shape.ToArray());
        Assert.Equal(new[] { 3, 1 }, layout.Strides.ToArray());
        var t = Tensor.Zeros(2, 3);
        var mine = t.Shape;
        mine[0] = 99; // Tensor.Shape is a copy; Layout.Shape is a read-only span (no writes compile)
        Assert.Equal(new[] { 2, 3 }, t.Layout.Shape.ToArray());
        var c = Layout.Contiguous(shape);
        shape[1] = 7;
        Assert.Equal(1 << 20, c.Shape[0]);
        Assert.Equal(1000, new Layout(shape, strides, 0).Strides[1]);
        Assert.Equal(3, c.Shape[1]);
    }
}
