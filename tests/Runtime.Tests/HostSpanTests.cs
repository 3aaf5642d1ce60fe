using DeepSharp;

namespace DeepSharp.Tests;

/// <summary>
/// Host memory in and out through spans (<see cref="Tensor.Empty"/>, <see cref="Tensor.FromSpan{T}"/>,
/// <see cref="Tensor.AsSpan{T}"/>, <see cref="Tensor.CopyTo{T}"/>, <see cref="Tensor.CopyFrom{T}(ReadOnlySpan{T})"/>): the
/// public surface file readers use instead of the runtime's internals.
/// </summary>
public class HostSpanTests
{
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void SpansCopyInAndOutOnEveryDeviceAndThroughViews(string device)
    {
        var d = TestDevices.Use(device);
        float[] data = [1, 2, 3, 4, 5, 6];
        var t = Tensor.FromSpan<float>(data.AsSpan(), [2, 3], d);
        Assert.Equal(d, t.Device);
        Assert.Equal(data, t.ToArray<float>());

        // Out of a strided view (a transpose), into a longer buffer: only Count elements are written.
        var buffer = new float[8];
        Array.Fill(buffer, -1f);
        t.T.CopyTo<float>(buffer);
        Assert.Equal(new float[] { 1, 4, 2, 5, 3, 6, -1, -1 }, buffer);

        // Into a view: the other column keeps its values; the version counts the write.
        int version = t.Version;
        t.Select(1, 2).CopyFrom<float>([30f, 60f]);
        Assert.Equal(new float[] { 1, 2, 30, 4, 5, 60 }, t.ToArray<float>());
        Assert.True(t.Version > version);

        var e = Tensor.Empty([3], DType.Int64, d);
        e.CopyFrom<long>([7L, -8L, long.MaxValue]);
        var back = new long[3];
        e.CopyTo<long>(back);
        Assert.Equal(new long[] { 7, -8, long.MaxValue }, back);

        var empty = Tensor.FromSpan<double>([], [0, 4], d);
        Assert.Equal([0, 4], empty.Shape);
        empty.CopyTo<double>([]);
        empty.CopyFrom<double>([]);
    }

    [Fact]
    public void AsSpanIsTheCpuTensorsOwnMemory()
    {
        var t = Tensor.Arange(12).Reshape(3, 4);
        var row = t[1];                                   // a dense view with an offset
        var span = row.AsSpan<float>();
        Assert.Equal(new float[] { 4, 5, 6, 7 }, span.ToArray());
        span[0] = 40f;                                    // writes show in the tensor and its views
        Assert.Equal(40f, t[1, 0].Item());
        Assert.Empty(Tensor.Zeros([0, 3]).AsSpan<float>().ToArray());

        var e = Tensor.Empty([2, 2], DType.Int32);
        e.AsSpan<int>().Fill(3);
        Assert.Equal(new[] { 3, 3, 3, 3 }, e.ToArray<int>());
    }

    [Fact]
    public void AsSpanCountsAsAnInPlaceWrite()
    {
        var w = Tensor.Ones(3).RequiresGradient();
        var ex = Assert.Throws<InvalidOperationException>(() => w.AsSpan<float>());
        Assert.Contains("AsSpan", ex.Message);
        using (Autograd.NoGrad()) w.AsSpan<float>()[0] = 2f;
        Assert.Equal(new float[] { 2, 1, 1 }, w.ToArray<float>());

        // A graph that saved x refuses to backward once x was handed out for writing.
        var x = Tensor.FromArray(new float[] { 1, 2, 3 });
        var y = (w * x).Sum();
        x.AsSpan<float>()[1] = 5f;
        Assert.Throws<InvalidOperationException>(() => y.Backward());
    }

    [Fact]
    public void WrongTypesShapesAndPlacesAreRefusedByName()
    {
        var t = Tensor.Ones(2, 3);
        var dtype = Assert.Throws<InvalidOperationException>(() => t.CopyTo(new long[6]));
        Assert.Contains("float32", dtype.Message);
        Assert.Contains("CopyTo<float>", dtype.Message);
        Assert.Throws<InvalidOperationException>(() => t.AsSpan<double>());
        Assert.Throws<InvalidOperationException>(() => t.CopyFrom<int>(new int[6]));
        Assert.Throws<NotSupportedException>(() => t.CopyTo(new byte[6]));

        var shortBuffer = Assert.Throws<ArgumentException>(() => t.CopyTo(new float[5]));
        Assert.Equal("destination", shortBuffer.ParamName);
        Assert.Contains("[2, 3]", shortBuffer.Message);
        Assert.Equal("source", Assert.Throws<ArgumentException>(() => t.CopyFrom<float>(new float[7])).ParamName);
        Assert.Equal("shape", Assert.Throws<ArgumentException>(() => Tensor.FromSpan<float>(new float[5], [2, 3])).ParamName);

        var strided = Assert.Throws<InvalidOperationException>(() => t.T.AsSpan<float>());
        Assert.Contains("Contiguous()", strided.Message);
        Assert.Throws<InvalidOperationException>(() => Tensor.Ones(1).Expand(4).CopyFrom<float>(new float[4]));

        Assert.Throws<ArgumentNullException>(() => Tensor.Empty(null!));
        Assert.Throws<ArgumentException>(() => Tensor.Empty([-1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Tensor.Empty([1], (DType)17));

        var gone = Tensor.Ones(2);
        gone.Dispose();
        Assert.Throws<ObjectDisposedException>(() => gone.AsSpan<float>());
        Assert.Throws<ObjectDisposedException>(() => gone.CopyTo(new float[2]));
        Assert.Throws<ObjectDisposedException>(() => gone.CopyFrom<float>(new float[2]));
    }

    [Theory, MemberData(nameof(TestDevices.Accelerators), MemberType = typeof(TestDevices))]
    public void AsSpanNamesTheWayForAcceleratorTensors(string device)
    {
        var d = TestDevices.Use(device);
        var e = Assert.Throws<InvalidOperationException>(() => Tensor.Ones([2], device: d).AsSpan<float>());
        Assert.Contains(d.ToString(), e.Message);
        Assert.Contains("CopyTo", e.Message);
    }

    [Theory]
    [InlineData(new[] { 2, 3 }, true, 6)]
    [InlineData(new int[0], true, 1)]
    [InlineData(new[] { 0, 65536, 65536 }, false, 0)]
    [InlineData(new[] { 3, -1 }, false, 0)]
    public void TryNumelChecksAShapeWithoutThrowing(int[] shape, bool valid, int count)
    {
        Assert.Equal(valid, Layout.TryNumel(shape, out int n));
        Assert.Equal(count, n);
    }
}
