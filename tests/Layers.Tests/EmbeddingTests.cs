using DeepSharp.Tests;

namespace DeepSharp.Layers.Tests;

/// <summary><see cref="Embedding"/> and <see cref="Functional.Embedding"/> against plain C# lookups and scatter-adds,
/// on every device.</summary>
public class EmbeddingTests
{
    private const int Num = 5, Dim = 3;

    private static float[] Table() => Enumerable.Range(0, Num * Dim).Select(i => (float)Math.Sin(i + 0.5)).ToArray();

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void ForwardPicksRowsForIndicesOfAnyShape(string device)
    {
        var d = TestDevices.Use(device);
        var table = Table();
        var weight = Tensor.FromArray(table, [Num, Dim], d);
        long[] idx = [4, 0, 2, 2, 1, 4];
        foreach (var indices in new[] { Tensor.FromArray(idx, [2, 3], d), Tensor.FromArray(idx.Select(i => (int)i).ToArray(), [2, 3], d) })
        {
            var y = Functional.Embedding(indices, weight);
            Assert.Equal([2, 3, Dim], y.Shape);
            var expected = idx.SelectMany(i => table.Skip((int)i * Dim).Take(Dim)).ToArray();
            Assert.Equal(expected, y.ToArray<float>());
        }
        // A 0-D index gives one row; a strided view of indices works too.
        Assert.Equal(table[3..6], Functional.Embedding(Tensor.FromArray(new long[] { 1 }, [], d), weight).ToArray<float>());
        var view = Tensor.FromArray(idx, [2, 3], d).Transpose(0, 1);
        Assert.Equal(new long[] { 4, 2, 0, 1, 2, 4 }.SelectMany(i => table.Skip((int)i * Dim).Take(Dim)),
            Functional.Embedding(view, weight).ToArray<float>());
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void GradientAddsUpRowsOfRepeatedIndicesAndSkipsThePaddingRow(string device)
    {
        var d = TestDevices.Use(device);
        long[] idx = [3, 1, 3, 0, 3, 1, 2];
        var g = Enumerable.Range(0, idx.Length * Dim).Select(i => (float)Math.Cos(0.7 * i)).ToArray();
        foreach (int? pad in new int?[] { null, 1, -2 })
        {
            var weight = Tensor.FromArray(Table(), [Num, Dim], d).RequiresGradient();
            var y = Functional.Embedding(Tensor.FromArray(idx, [idx.Length], d), weight, pad);
            (y * Tensor.FromArray(g, [idx.Length, Dim], d)).Sum().Backward();
            var expected = new double[Num * Dim];
            int? padRow = pad < 0 ? pad + Num : pad;
            for (int k = 0; k < idx.Length; k++)
                if (idx[k] != padRow)
                    for (int c = 0; c < Dim; c++) expected[idx[k] * Dim + c] += g[k * Dim + c];
            Ref.Close(expected, weight.Grad!.ToArray<float>(), TestDevices.Tol(d), $"padding {pad}");
            if (padRow is int p) Assert.All(weight.Grad!.ToArray<float>()[(p * Dim)..((p + 1) * Dim)], v => Assert.Equal(0f, v));
        }
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void OutOfRangeIndicesAreRefused(string device)
    {
        var d = TestDevices.Use(device);
        var weight = Tensor.FromArray(Table(), [Num, Dim], d);
        var e = Assert.Throws<ArgumentOutOfRangeException>(
            () => Functional.Embedding(Tensor.FromArray(new long[] { 0, Num, 1 }, device: d), weight));
        Assert.Contains($"{Num}", e.Message);
        Assert.Equal((long)Num, e.ActualValue);
        if (d == Device.Cpu)
        {
            var neg = Assert.Throws<ArgumentOutOfRangeException>(
                () => Functional.Embedding(Tensor.FromArray(new[] { 2, -1 }, device: d), weight));
            Assert.Equal("indices", neg.ParamName);
            Assert.Contains("element 1", neg.Message);
            Assert.Contains($"[0, {Num})", neg.Message);
        }
        else // accelerators: an index in [-num, 0) counts from the end (documented), below -num is refused
            Assert.Throws<ArgumentOutOfRangeException>(() => Functional.Embedding(Tensor.FromArray(new[] { -Num - 1 }, device: d), weight));
        Assert.Equal("paddingIdx", Assert.Throws<ArgumentOutOfRangeException>(
            () => Functional.Embedding(Tensor.FromArray(new[] { 0 }, device: d), weight, Num)).ParamName);
        Assert.Throws<ArgumentException>(() => Functional.Embedding(Tensor.FromArray(new[] { 0f }, device: d), weight));
        Assert.Throws<ArgumentException>(() => Functional.Embedding(Tensor.FromArray(new[] { 0L }, device: d), weight.Reshape(-1)));
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void LayerLooksUpItsWeightAndKeepsThePaddingRowAtZero(string device)
    {
        var d = TestDevices.Use(device);
        var emb = new Embedding(Num, Dim, paddingIdx: -1);
        emb.Initialize(device: d);
        Assert.Equal(Num - 1, emb.PaddingIdx);
        Assert.Equal(["weight"], emb.StateDict().Keys);
        var w = emb.Weight.Data.ToArray<float>();
        Assert.All(w[((Num - 1) * Dim)..], v => Assert.Equal(0f, v));
        Assert.Contains(w[..((Num - 1) * Dim)], v => v != 0f);
        var idx = new long[] { 4, 2, 2 };
        var y = emb.Call(Tensor.FromArray(idx, [1, 3], d));
        Assert.Equal([1, 3, Dim], y.Shape);
        Assert.Equal(idx.SelectMany(i => w.Skip((int)i * Dim).Take(Dim)), y.ToArray<float>());
        y.Square().Sum().Backward();
        var grad = emb.Weight.Grad!.ToArray<float>();
        Assert.All(grad[((Num - 1) * Dim)..], v => Assert.Equal(0f, v));
        Ref.Close(w[(2 * Dim)..(3 * Dim)].Select(v => 4.0 * v).ToArray(), grad[(2 * Dim)..(3 * Dim)], TestDevices.Tol(d));
        Assert.Contains("padding_idx=4", emb.ToString());
    }

    [Fact]
    public void WeightIsStandardNormalAndLoadsByPyTorchsName()
    {
        var emb = new Embedding(1000, 16);
        emb.Initialize();
        var w = emb.Weight.Data.ToArray<float>();
        double mean = w.Average(), std = Math.Sqrt(w.Select(v => (v - mean) * (v - mean)).Average());
        Assert.InRange(mean, -0.05, 0.05);
        Assert.InRange(std, 0.95, 1.05);
        // A state dict keyed as torch.nn.Embedding's (what a safetensors file of one holds) loads into it.
        var values = Enumerable.Range(0, 6).Select(i => (float)i).ToArray();
        var small = new Embedding(3, 2);
        small.LoadStateDict(new Dictionary<string, Tensor> { ["weight"] = Tensor.FromArray(values, [3, 2]) });
        Assert.Equal(values, small.Weight.Data.ToArray<float>());
    }

    [Fact]
    public void ArgumentsAreChecked()
    {
        Assert.Equal("numEmbeddings", Assert.Throws<ArgumentOutOfRangeException>(() => new Embedding(0, 2)).ParamName);
        Assert.Equal("embeddingDim", Assert.Throws<ArgumentOutOfRangeException>(() => new Embedding(2, 0)).ParamName);
        Assert.Equal("paddingIdx", Assert.Throws<ArgumentOutOfRangeException>(() => new Embedding(2, 2, 2)).ParamName);
        Assert.Equal("paddingIdx", Assert.Throws<ArgumentOutOfRangeException>(() => new Embedding(2, 2, -3)).ParamName);
        Assert.Null(new Embedding(2, 2).PaddingIdx);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void GradientMatchesFiniteDifferences(string device)
    {
        var d = TestDevices.Use(device);
        var idx = Tensor.FromArray(new long[] { 1, 3, 1, 0, 4, 1 }, [2, 3], d);
        var table = Table();
        var weight = Tensor.FromArray(table, [Num, Dim], d).RequiresGradient();
        var wts = Enumerable.Range(0, 6 * Dim).Select(i => (float)Math.Cos(i + 0.3)).ToArray();
        var y = Functional.Embedding(idx, weight, paddingIdx: 3);
        (y.Tanh() * Tensor.FromArray(wts, [2, 3, Dim], d)).Sum().Backward();
        var analytic = weight.Grad!.ToArray<float>();
        var cpuIdx = idx.To(Device.Cpu);
        var w = Tensor.FromArray(wts, [2, 3, Dim]);
        double Loss(float[] t) => (Functional.Embedding(cpuIdx, Tensor.FromArray(t, [Num, Dim])).Tanh() * w).Sum().Item();
        const float eps = 1e-2f;
        var numeric = new double[table.Length];
        for (int j = 0; j < table.Length; j++)
        {
            if (j / Dim == 3) continue; // the padding row gets no gradient
            var up = (float[])table.Clone(); up[j] += eps;
            var down = (float[])table.Clone(); down[j] -= eps;
            numeric[j] = (Loss(up) - Loss(down)) / (2 * eps);
        }
        Ref.Close(numeric, analytic, 2e-3);
    }

    /// <summary>The float64 table's gradient against central differences of float64 passes (eps 1e−6) to 1e−6 relative;
    /// the padding row's is exactly 0.</summary>
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Float64GradientMatchesFiniteDifferences(string device)
    {
        var d = TestDevices.Use(device);
        var idx = Tensor.FromArray(new long[] { 1, 3, 1, 0, 4, 1 }, [2, 3], d);
        var table = Table().Select(v => (double)v).ToArray();
        var weight = Tensor.FromArray(table, [Num, Dim], d).RequiresGradient();
        var wts = Enumerable.Range(0, 6 * Dim).Select(i => Math.Cos(i + 0.3)).ToArray();
        var y = Functional.Embedding(idx, weight, paddingIdx: 3);
        Assert.Equal(DType.Float64, y.DType);
        (y.Tanh() * Tensor.FromArray(wts, [2, 3, Dim], d)).Sum().Backward();
        var analytic = weight.Grad!.ToArray<double>();
        var cpuIdx = idx.To(Device.Cpu);
        var w = Tensor.FromArray(wts, [2, 3, Dim]);
        double Loss(double[] t) => (Functional.Embedding(cpuIdx, Tensor.FromArray(t, [Num, Dim])).Tanh() * w).Sum().Item<double>();
        const double eps = 1e-6;
        for (int j = 0; j < table.Length; j++)
        {
            if (j / Dim == 3) { Assert.Equal(0.0, analytic[j]); continue; } // the padding row gets no gradient
            var up = (double[])table.Clone(); up[j] += eps;
            var down = (double[])table.Clone(); down[j] -= eps;
            double numeric = (Loss(up) - Loss(down)) / (2 * eps);
            Assert.True(Math.Abs(numeric - analytic[j]) <= 1e-6 * (1 + Math.Abs(numeric)), $"[{j}] {analytic[j]:R} vs {numeric:R} on {d}");
        }
    }
}
