using CsCheck;
using DeepSharp.Backends.Ilgpu;

namespace DeepSharp.Tests;

/// <summary>
/// Bad arguments get an Argument… exception naming the op, the argument and the value, before anything divides or
/// allocates; allocations that cannot be made are <see cref="DeviceOutOfMemoryException"/>s on the CPU too. Size arithmetic
/// (window grids, slices, expands, joins, ranges) is checked by properties against 64-bit references.
/// </summary>
public class ArgumentCheckTests
{
    private static ArgumentOutOfRangeException OutOfRange(string op, string param, object value, Func<object> call)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => call());
        Assert.Equal(param, e.ParamName);
        Assert.Equal(value, e.ActualValue);
        Assert.Contains(op, e.Message);
        Assert.Contains(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)!, e.Message);
        return e;
    }

    public static TheoryData<string, string> PoolsOnDevices()
    {
        var data = new TheoryData<string, string>();
        foreach (var d in TestDevices.Names) foreach (var op in new[] { "MaxPool2d", "AvgPool2d", "Unfold" }) data.Add(d, op);
        return data;
    }

    private static Tensor Pool(string op, Tensor x, int kernel, int? stride = null, int padding = 0) => op switch
    {
        "MaxPool2d" => Functional.MaxPool2d(x, kernel, stride, padding),
        "AvgPool2d" => Functional.AvgPool2d(x, kernel, stride, padding),
        _ => Functional.Unfold(x, kernel, stride ?? 1, padding),
    };

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Conv2dRefusesStrideAndPaddingBeforeDividing(string device)
    {
        var d = TestDevices.Use(device);
        var x = Tensor.Ones([1, 1, 4, 4], device: d);
        var w = Tensor.Ones([1, 1, 2, 2], device: d);
        foreach (var s in new[] { 0, -1, int.MinValue }) OutOfRange("Conv2d", "stride", s, () => Functional.Conv2d(x, w, stride: s));
        foreach (var p in new[] { -1, int.MinValue }) OutOfRange("Conv2d", "padding", p, () => Functional.Conv2d(x, w, padding: p));
        OutOfRange("Conv2d", "padding", int.MaxValue, () => Functional.Conv2d(x, w, padding: int.MaxValue)); // 2p wraps an int
        Assert.Equal([1, 1, 1, 1], Functional.Conv2d(x, w, stride: int.MaxValue).Shape); // one window: any stride that long
    }

    [Theory, MemberData(nameof(PoolsOnDevices))]
    public void PoolingAndUnfoldRefuseKernelStrideAndPadding(string device, string op)
    {
        var d = TestDevices.Use(device);
        var x = Tensor.Ones([1, 1, 4, 4], device: d);
        foreach (var k in new[] { 0, -5, int.MinValue }) OutOfRange(op, "kernel", k, () => Pool(op, x, k));
        foreach (var s in new[] { 0, -1 }) OutOfRange(op, "stride", s, () => Pool(op, x, 2, s));
        OutOfRange(op, "padding", -1, () => Pool(op, x, 2, 2, -1));
        var big = Assert.Throws<ArgumentException>(() => Pool(op, x, 5));
        Assert.Contains(op, big.Message);
        Assert.Contains("5×5", big.Message);
    }

    /// <summary>k·k is computed in 64 bits: 46341² and 65536² (which wraps to 0) are refused, not allocated or averaged.</summary>
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void WindowsWhoseSquareOverflowsAreRefused(string device)
    {
        var d = TestDevices.Use(device);
        var x = Tensor.Ones([1, 1, 1, 1], device: d);
        foreach (var (k, p) in new[] { (46341, 23170), (65536, 32768) })
            foreach (var op in new[] { "AvgPool2d", "MaxPool2d", "Unfold" })
            {
                var e = Assert.Throws<ArgumentException>(() => Pool(op, x, k, padding: p));
                Assert.Contains(op, e.Message);
                Assert.Contains($"{k}×{k}", e.Message);
                Assert.Equal("kernel", e.ParamName);
            }
    }

    /// <summary>
    /// Every window geometry: with hostile kernel, stride and padding the op either refuses with an Argument… exception
    /// naming one of them, or returns the grid of the 64-bit reference — with the values of direct loops (a stride longer
    /// than the padded input gives one window per axis).
    /// </summary>
    [Fact]
    public void WindowGeometryMatchesA64BitReferenceOrIsRefused()
    {
        var small = Gen.Int[0, 6];
        Gen<int> MostlyIn(int lo, int hi) => Gen.Frequency((3, (IGen<int>)Gen.Int[lo, hi]), (2, Property.HostileInt));
        var gen = Gen.Select(small, small, MostlyIn(1, 4), MostlyIn(1, 4), MostlyIn(0, 3), Gen.Int[0, 2]);
        int ran = 0;
        Property.ForAll(gen, c =>
        {
            var (h, w, k, s, p, which) = c;
            string op = new[] { "MaxPool2d", "AvgPool2d", "Unfold" }[which];
            var xs = Enumerable.Range(0, h * w).Select(i => (float)(i % 7) - 3f).ToArray();
            var x = Tensor.FromArray(xs, [1, 1, h, w]);
            var expected = Grid(h, w, k, s, p);
            if (expected is null)
            {
                var e = Assert.ThrowsAny<ArgumentException>(() => Pool(op, x, k, s, p));
                Assert.Contains(e.ParamName, new[] { "kernel", "stride", "padding" });
                Assert.Contains(op, e.Message);
                return;
            }
            var (oh, ow, count) = expected.Value;
            if (count > 1 << 16) return; // valid but too large to run in a unit test
            ran++;
            var y = Pool(op, x, k, s, p);
            double[] reference = Reference(op, xs, h, w, k, s, p, oh, ow);
            Assert.Equal(op == "Unfold" ? [1, k * k, oh * ow] : new[] { 1, 1, oh, ow }, y.Shape);
            Ref.Close(reference, y.ToArray<float>(), 1e-5, $"{op} k {k} s {s} p {p} on {h}×{w}");
        }, iter: 800);
        Assert.True(ran > 200, $"only {ran} valid cases ran");
    }

    /// <summary>The output grid and the windows' element count, or null where the arguments must be refused.</summary>
    private static (int OH, int OW, long Count)? Grid(int h, int w, int k, int s, int p)
    {
        if (k < 1 || s < 1 || p < 0) return null;
        long ph = h + 2L * p, pw = w + 2L * p;
        if (ph > int.MaxValue || pw > int.MaxValue || ph < k || pw < k) return null;
        long stride = Math.Min(s, Math.Max(ph, pw) - k + 1);
        if (p + stride > int.MaxValue) return null;
        long oh = (ph - k) / stride + 1, ow = (pw - k) / stride + 1;
        System.Numerics.BigInteger count = (System.Numerics.BigInteger)k * k * oh * ow;
        return count > int.MaxValue ? null : ((int)oh, (int)ow, (long)count);
    }

    /// <summary>Direct loops: max (padding -inf), mean (padding 0 counted) or the columns [k·k, oh·ow] (padding 0).</summary>
    private static double[] Reference(string op, float[] x, int h, int w, int k, int s, int p, int oh, int ow)
    {
        var result = new double[op == "Unfold" ? k * k * oh * ow : oh * ow];
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++)
            {
                double max = double.NegativeInfinity, sum = 0;
                for (int a = 0; a < k; a++)
                    for (int b = 0; b < k; b++)
                    {
                        long r = (long)i * s - p + a, c = (long)j * s - p + b;
                        bool inside = r >= 0 && r < h && c >= 0 && c < w;
                        double v = inside ? x[r * w + c] : 0;
                        max = Math.Max(max, inside ? v : double.NegativeInfinity);
                        sum += v;
                        if (op == "Unfold") result[(a * k + b) * oh * ow + i * ow + j] = v;
                    }
                if (op == "MaxPool2d") result[i * ow + j] = max;
                else if (op == "AvgPool2d") result[i * ow + j] = sum / ((double)k * k);
            }
        return result;
    }

    /// <summary>Python slicing: negative bounds count from the end, out-of-range bounds clamp, a step of any size works.</summary>
    [Fact]
    public void SlicesMatchPythonSlicingForAnyBoundsAndSteps()
    {
        var bound = Gen.Frequency((3, (IGen<int?>)Property.HostileInt.Select(v => (int?)v)), (1, Gen.Const((int?)null)));
        var again = Gen.Select(Property.HostileInt, bound, Gen.Int[1, 4]);
        var gen = Gen.Select(Gen.Int[0, 12], Property.HostileInt, bound, Property.HostileInt, again);
        Property.ForAll(gen, c =>
        {
            var (n, start, end, step, (start2, end2, step2)) = c;
            var x = Tensor.Arange(0, 3 * n, 1).Reshape(3, n).T; // a strided view: dim 0 has stride 1, dim 1 stride n
            if (step <= 0)
            {
                OutOfRange("Slice", "step", step, () => x.Slice(0, start, end, step));
                return;
            }
            var once = PySlice(Enumerable.Range(0, n).ToArray(), start, end, step);
            var y = x.Slice(0, start, end, step);
            Assert.Equal([once.Length, 3], y.Shape);
            Assert.Equal(once.SelectMany(i => new[] { i, n + i, 2 * n + i }).Select(v => (float)v), y.ToArray<float>());
            var twice = PySlice(once, start2, end2, step2);
            var z = y.Slice(0, start2, end2, step2);
            Assert.Equal([twice.Length, 3], z.Shape);
            Assert.Equal(twice.SelectMany(i => new[] { i, n + i, 2 * n + i }).Select(v => (float)v), z.ToArray<float>());
        }, iter: 800);
    }

    private static int[] PySlice(int[] items, long start, long? end, long step)
    {
        long n = items.Length;
        long s = start < 0 ? Math.Max(start + n, 0) : Math.Min(start, n);
        long e = end is { } v ? (v < 0 ? Math.Max(v + n, 0) : Math.Min(v, n)) : n;
        var result = new List<int>();
        for (long i = s; i < e; i += step) result.Add(items[i]);
        return result.ToArray();
    }

    [Fact]
    public void ExpandKeepsMinusOneAndRefusesOtherNegativeSizes()
    {
        var x = Tensor.Ones(1, 3);
        OutOfRange("Expand", "shape", -5, () => x.Expand(-5, 3)); // was a tensor of shape [-5, 3]
        Assert.Equal([2, 3], x.Expand(2, -1).Shape);
        Assert.Equal([4, 1, 3], x.Expand(4, -1, -1).Shape); // -1 keeps the size, 1 included
        OutOfRange("Expand", "shape", -1, () => x.Expand(-1, 2, 3)); // -1 cannot name a new leading dim
        OutOfRange("Expand", "shape", int.MinValue, () => x.Expand(2, int.MinValue));
        var huge = Assert.Throws<ArgumentException>(() => x.Expand(int.MaxValue, 3));
        Assert.Contains("Expand", huge.Message);
        Assert.Contains("[2147483647, 3]", huge.Message);
    }

    /// <summary>Expand over random shapes and sizes (hostile ones included) agrees with a 64-bit model of PyTorch's rule.</summary>
    [Fact]
    public void ExpandAgreesWithPyTorchsRuleOnHostileShapes()
    {
        var dim = Gen.Frequency((3, (IGen<int>)Gen.Int[0, 3]), (2, Gen.OneOf(-1, -5, int.MaxValue, int.MinValue, 1 << 16)));
        var gen = Gen.Select(Gen.Int[0, 3].Array[0, 3], dim.Array[0, 4]);
        Property.ForAll(gen, c =>
        {
            var (source, target) = c;
            var x = Tensor.Zeros(source);
            int lead = target.Length - source.Length;
            long[]? expected = lead < 0 ? null : new long[target.Length];
            for (int d = 0; d < target.Length && expected != null; d++)
            {
                long t = target[d];
                if (t == -1 && d >= lead) t = source[d - lead];
                if (t < 0 || d >= lead && source[d - lead] != t && source[d - lead] != 1) expected = null;
                else expected[d] = t;
            }
            if (expected?.Aggregate(System.Numerics.BigInteger.One, (acc, v) => acc * Math.Max(v, 1)) > int.MaxValue) expected = null;
            if (expected is null)
            {
                var e = Assert.ThrowsAny<ArgumentException>(() => x.Expand(target));
                Assert.Equal("shape", e.ParamName);
                Assert.Contains("Expand", e.Message);
                return;
            }
            var y = x.Expand(target);
            Assert.Equal(expected.Select(v => (int)v), y.Shape);
        }, iter: 600);
    }

    /// <summary>Views can hold more than 2^31 elements together; their join is refused naming the total, not a negative dim.</summary>
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void ConcatAndStackBeyondInt32AreRefusedNamingTheTotal(string device)
    {
        var d = TestDevices.Use(device);
        var e = Tensor.Ones([1], device: d).Expand((1 << 30) + 1);
        var ex = Assert.Throws<ArgumentException>(() => Tensor.Concat([e, e]));
        Assert.Contains("Concat", ex.Message);
        Assert.Contains("2147483650", ex.Message);
        Assert.Equal("tensors", ex.ParamName);
        var rows = Tensor.Ones([1, 1], device: d).Expand(2, 1 << 29);
        ex = Assert.Throws<ArgumentException>(() => Tensor.Concat([rows, rows, rows], axis: 0));
        Assert.Contains("Concat", ex.Message);
        var s = Tensor.Ones([1], device: d).Expand(1 << 30);
        Assert.Contains("Concat", Assert.Throws<ArgumentException>(() => Tensor.Stack([s, s, s])).Message);
    }

    [Fact]
    public void ShapesThatNoTensorCanIndexAreArgumentErrors()
    {
        foreach (var shape in new[] { new[] { 46341, 46341 }, [int.MaxValue, 2], [0, 1 << 20, 1 << 20], [-1], [3, int.MinValue] })
        {
            var e = Assert.Throws<ArgumentException>(() => Tensor.Zeros(shape, DType.Float32));
            Assert.Contains("Full", e.Message);
            Assert.Equal("shape", e.ParamName);
            Assert.Contains(Layout.Format(shape), e.Message);
            Assert.Throws<ArgumentException>(() => Layout.Numel(shape));
            Assert.Throws<ArgumentException>(() => Layout.ContiguousStrides(shape));
        }
    }

    /// <summary>A host array longer than .NET allows is the same out-of-memory error as on accelerators (requested, free,
    /// total), found without allocating; the expanded view of the issue fails the same way when copied.</summary>
    [Fact]
    public void CpuAllocationsBeyondAnArrayAreDeviceOutOfMemory()
    {
        foreach (var dtype in new[] { DType.Float32, DType.Float64, DType.Int32, DType.Int64 })
        {
            var e = Assert.Throws<DeviceOutOfMemoryException>(() => Tensor.Zeros([int.MaxValue], dtype));
            Assert.Equal(Device.Cpu, e.Device);
            Assert.Equal((long)int.MaxValue * dtype.SizeOf(), e.RequestedBytes);
            Assert.Contains("Out of memory on cpu", e.Message);
            Assert.Contains("one .NET array can hold", e.Message); // not "out of free memory": no memory amount would do
            Assert.IsType<OutOfMemoryException>(e.InnerException);
        }
        Assert.Throws<DeviceOutOfMemoryException>(() => Tensor.Ones(1).Expand(int.MaxValue).Contiguous());
        Assert.Throws<DeviceOutOfMemoryException>(() => Tensor.Ones(1).Expand(int.MaxValue).ToArray<float>());
        Assert.Throws<DeviceOutOfMemoryException>(() => Tensor.Ones(1).Expand(int.MaxValue).Exp());
        Assert.Equal(6f, Tensor.Ones(6).Sum().Item()); // and the CPU still computes
    }

    [Fact]
    public void ArangeCountsAreCheckedBeforeAllocating()
    {
        foreach (var (start, end, step) in new[] { (0d, 1e12, 1d), (0d, 1d, 1e-12), (-1e308, 1e308, 1d) })
        {
            var e = Assert.Throws<ArgumentException>(() => Tensor.Arange(start, end, step));
            Assert.Contains("Arange", e.Message);
            Assert.Contains("more than the 2147483647", e.Message);
        }
        foreach (var (start, end, step) in new[] { (0d, double.PositiveInfinity, 1d), (double.NaN, 1d, 1d), (0d, 1d, 0d),
            (0d, 1d, double.NaN), (0d, 5d, -1d), (double.NegativeInfinity, 0d, 1d) })
            Assert.Contains("Arange", Assert.Throws<ArgumentException>(() => Tensor.Arange(start, end, step)).Message);
        OutOfRange("Arange", "end", 3e9, () => Tensor.Arange(0, 4e9, 1e9, DType.Int32)); // the last value, 3e9, is no int32
        OutOfRange("Arange", "start", -3e9, () => Tensor.Arange(-3e9, 0, 1e9, DType.Int32));
        Assert.Equal([2147483646, 2147483647], Tensor.Arange(2147483646, 2147483648.0, 1, DType.Int32).ToArray<int>());
        Assert.Throws<ArgumentException>(() => Tensor.Arange(-1));
    }

    /// <summary>Full converts its value like PyTorch (truncation toward zero for integer dtypes, ±inf beyond float32's
    /// range) and refuses values an integer dtype cannot hold, NaN and ±inf included.</summary>
    [Fact]
    public void FullRefusesValuesThatDoNotFitTheIntegerDtype()
    {
        OutOfRange("Full", "value", 1e20, () => Tensor.Full([2], 1e20, DType.Int32));
        var gen = Gen.Select(Property.HostileDouble, Gen.OneOf(DType.Float32, DType.Float64, DType.Int32, DType.Int64));
        Property.ForAll(gen, c =>
        {
            var (value, dtype) = c;
            double t = Math.Truncate(value);
            bool fits = dtype switch
            {
                DType.Int32 => t >= int.MinValue && t <= int.MaxValue,
                DType.Int64 => t >= -9.223372036854775808e18 && t < 9.223372036854775808e18,
                _ => true,
            };
            if (!fits)
            {
                var e = OutOfRange("Full", "value", value, () => Tensor.Full([2], value, dtype));
                Assert.Contains(dtype.ToString().ToLowerInvariant(), e.Message);
                return;
            }
            var y = Tensor.Full([2], value, dtype);
            object expected = dtype switch
            {
                DType.Float32 => (float)value,
                DType.Float64 => (object)value,
                DType.Int32 => (int)t,
                _ => (long)t,
            };
            object actual = dtype switch
            {
                DType.Float32 => y.ToArray<float>()[1],
                DType.Float64 => (object)y.ToArray<double>()[1],
                DType.Int32 => y.ToArray<int>()[1],
                _ => y.ToArray<long>()[1],
            };
            Assert.Equal(expected, actual);
        }, iter: 500);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void SelectAndIndexersRefuseIndicesWithArgumentOutOfRange(string device)
    {
        var x = Tensor.Zeros([2, 3], device: TestDevices.Use(device));
        foreach (var i in new[] { 2, -3, int.MaxValue, int.MinValue })
        {
            OutOfRange("Select", "index", i, () => x[i]);
            OutOfRange("Select", "index", i, () => x.Select(0, i));
        }
        foreach (var j in new[] { 3, -4, int.MaxValue, int.MinValue }) OutOfRange("Select", "index", j, () => x[1, j]);
        OutOfRange("Select", "axis", 2, () => x.Select(2, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Tensor.Scalar(1f)[0]);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void BadLabelsAndRowIndicesAreArgumentErrorsNamingTheValue(string device)
    {
        var d = TestDevices.Use(device);
        var table = Tensor.Zeros([4, 3], device: d);
        foreach (var bad in new long[] { 4, -5, long.MaxValue, long.MinValue })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => table.GatherRows(Tensor.FromArray(new[] { 0, bad, 1 }, device: d)));
            Assert.Equal("index", e.ParamName);
            Assert.Equal(bad, e.ActualValue);
            Assert.Contains(bad.ToString(), e.Message);
        }
        var intIndex = Assert.Throws<ArgumentOutOfRangeException>(() => table.GatherRows(Tensor.FromArray(new[] { 7 }, device: d)));
        Assert.Equal(7L, intIndex.ActualValue);
        if (d != Device.Cpu) return; // accelerators give a NaN loss for a bad label (no host round-trip), as documented
        var logits = Tensor.Zeros([2, 3], device: d);
        foreach (var bad in new long[] { 3, -1, long.MinValue })
        {
            var labels = Tensor.FromArray(new[] { 0, bad }, device: d);
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => Functional.CrossEntropy(logits, labels));
            Assert.Equal("labels", e.ParamName);
            Assert.Equal(bad, e.ActualValue);
        }
    }

    [Fact]
    public void UndefinedEnumValuesAreRefused()
    {
        OutOfRange("Full", "dtype", (DType)7, () => Tensor.Zeros([2], (DType)7));
        OutOfRange("Arange", "dtype", (DType)(-1), () => Tensor.Arange(0, 3, 1, (DType)(-1)));
        OutOfRange("To", "dtype", (DType)9, () => Tensor.Zeros(2).To((DType)9));
        var x = Tensor.Zeros(2, 3);
        var labels = Tensor.FromArray(new long[] { 0, 1 });
        OutOfRange("CrossEntropy", "reduction", (Reduction)9, () => Functional.CrossEntropy(x, labels, (Reduction)9));
        OutOfRange("MseLoss", "reduction", (Reduction)9, () => Functional.MseLoss(x, x, (Reduction)9));
        Assert.Throws<ArgumentOutOfRangeException>(() => Functional.BinaryCrossEntropyWithLogits(x, x, (Reduction)9));
        Assert.Throws<ArgumentOutOfRangeException>(() => ((DType)9).SizeOf());
    }

    [Fact]
    public void RandomRangesMustBeFiniteAndOrdered()
    {
        foreach (var (lo, hi) in new[] { (float.NaN, 1f), (0f, float.PositiveInfinity), (1f, 0f), (float.NegativeInfinity, 0f) })
            Assert.Contains("Rand", Assert.Throws<ArgumentOutOfRangeException>(() => Tensor.Rand([2], lo, hi)).Message);
        foreach (var std in new[] { -1f, float.NaN, float.PositiveInfinity })
            OutOfRange("Randn", "std", std, () => Tensor.Randn([2], 0f, std));
        OutOfRange("Randn", "mean", float.NaN, () => Tensor.Randn([2], float.NaN, 1f));
        Assert.Equal([2f, 2f], Tensor.Rand([2], 2f, 2f).ToArray<float>());
    }

    /// <summary>Creation copies the caller's shape array: changing it afterwards cannot reshape the tensor.</summary>
    [Fact]
    public void CreationDoesNotKeepTheCallersShapeArray()
    {
        int[] shape = [2, 3];
        var tensors = new[] { Tensor.Zeros(shape), Tensor.Full(shape, 1), Tensor.Rand(shape, generator: new Generator(1)),
            Tensor.FromArray(new float[6], shape) };
        shape[0] = 7;
        Assert.All(tensors, t => Assert.Equal([2, 3], t.Shape));
    }

    [Fact]
    public void NullArgumentsAreNamed()
    {
        var x = Tensor.Zeros(2, 2);
        Assert.Equal("shape", Assert.Throws<ArgumentNullException>(() => Tensor.Zeros(null!)).ParamName);
        Assert.Equal("b", Assert.Throws<ArgumentNullException>(() => x + null!).ParamName);
        Assert.Equal("x", Assert.Throws<ArgumentNullException>(() => Functional.Conv2d(null!, x)).ParamName);
        Assert.Equal("labels", Assert.Throws<ArgumentNullException>(() => Functional.CrossEntropy(x, null!)).ParamName);
        Assert.Equal("tensors", Assert.Throws<ArgumentNullException>(() => Tensor.Concat([x, null!])).ParamName);
        Assert.Equal("source", Assert.Throws<ArgumentNullException>(() => x.CopyFrom(null!)).ParamName);
        Assert.Equal("parameters", Assert.Throws<ArgumentNullException>(() => new Optim.Sgd((IEnumerable<Tensor>)null!, 0.1f)).ParamName);
        Assert.Equal("parameters", Assert.Throws<ArgumentNullException>(() => new Optim.Adam(new Tensor[] { null! })).ParamName);
        Assert.Equal("text", Assert.Throws<ArgumentNullException>(() => Device.Parse(null!)).ParamName);
    }
}

public class OneHotTests
{
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void OneHotMatchesPyTorchsShapesAndRefusesBadLabels(string device)
    {
        var d = TestDevices.Use(device);
        var labels = Tensor.FromArray(new long[] { 2, 0, 1, 2 }, [2, 2], d);
        var y = Functional.OneHot(labels, 3);
        Assert.Equal(new[] { 2, 2, 3 }, y.Shape);
        Assert.Equal(new float[] { 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1 }, y.ToArray<float>());
        Assert.Equal(new float[] { 0, 1, 1, 0 }, Functional.OneHot(Tensor.FromArray(new[] { 1, 0 }, device: d), 2).ToArray<float>());
        Assert.Throws<ArgumentException>(() => Functional.OneHot(Tensor.Ones([2], device: d), 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => Functional.OneHot(labels, -1));
        if (d == Device.Cpu)
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => Functional.OneHot(Tensor.FromArray(new long[] { 0, 3 }), 3));
            Assert.Contains("label 3", e.Message);
            Assert.Throws<ArgumentOutOfRangeException>(() => Functional.OneHot(Tensor.FromArray(new[] { -1 }), 3));
        }
    }
}

public class OneHotLimitTests
{
    [Fact]
    public void MoreClassesThanFloat32CanTellApartAreRefused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Functional.OneHot(Tensor.FromArray(new long[] { 0 }), (1 << 24) + 1));
}
