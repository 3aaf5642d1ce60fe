using DeepSharp;

namespace DeepSharp.Tests;

/// <summary>
/// <see cref="Functional.ScaledDotProductAttention"/> against a double-precision reference of PyTorch's math definition
/// (softmax(q·kᵀ·scale + mask)·v; a fully masked row gives zeros), forward and gradients of q, k, v (and of a float mask),
/// on every device: float and integer (boolean) masks of several broadcast shapes, causal with L = S, L &lt; S and L &gt; S,
/// strided inputs, unbatched and broadcast batch dims, an explicit scale, dropout, and argument errors.
/// </summary>
public class AttentionTests
{
    private const float NegInf = float.NegativeInfinity;

    public enum MaskKind { None, Float, Int, FloatGrad }

    /// <summary>Shapes of q, k, v, the mask's kind and shape, causal, whether q and k are transposed views, the scale.</summary>
    public sealed record Case(int[] Q, int[] K, int[] V, MaskKind Mask = MaskKind.None, int[]? MaskShape = null, bool Causal = false,
        bool Strided = false, float? Scale = null);

    public static readonly Dictionary<string, Case> Cases = new()
    {
        ["plain"] = new([2, 3, 4], [2, 5, 4], [2, 5, 6]),
        ["rows of 9 keys"] = new([2, 3, 8], [2, 9, 8], [2, 9, 3]),
        ["causal"] = new([2, 4, 4], [2, 4, 4], [2, 4, 3], Causal: true),
        ["causal L < S"] = new([1, 3, 4], [1, 11, 4], [1, 11, 2], Causal: true),
        ["causal L > S"] = new([1, 5, 4], [1, 3, 4], [1, 3, 2], Causal: true),
        ["float mask [L, S]"] = new([2, 2, 3, 4], [2, 2, 5, 4], [2, 2, 5, 3], MaskKind.Float, [3, 5]),
        ["int mask [N, 1, 1, S]"] = new([2, 2, 3, 4], [2, 2, 5, 4], [2, 2, 5, 3], MaskKind.Int, [2, 1, 1, 5]),
        ["int mask with a fully masked row"] = new([2, 3, 4], [2, 9, 4], [2, 9, 3], MaskKind.Int, [3, 9]),
        ["float mask [N, H, L, S]"] = new([2, 2, 3, 4], [2, 2, 5, 4], [2, 2, 5, 3], MaskKind.Float, [2, 2, 3, 5]),
        ["float mask [N, 1, L, S] with grad"] = new([2, 2, 3, 4], [2, 2, 5, 4], [2, 2, 5, 3], MaskKind.FloatGrad, [2, 1, 3, 5]),
        ["mask over three batch levels"] = new([2, 2, 2, 3, 4], [2, 2, 2, 5, 4], [2, 2, 2, 5, 3], MaskKind.Float, [2, 1, 2, 3, 5]),
        ["strided q and k"] = new([2, 3, 4], [2, 5, 4], [2, 5, 6], MaskKind.Float, [1, 5], Strided: true),
        ["unbatched"] = new([3, 4], [5, 4], [5, 2], Scale: 0.3f),
        ["broadcast batch"] = new([2, 3, 4], [1, 5, 4], [5, 6], MaskKind.Int, [2, 3, 5]),
    };

    public static TheoryData<string, string> All()
    {
        var d = new TheoryData<string, string>();
        foreach (var dev in TestDevices.Names) foreach (var c in Cases.Keys) d.Add(dev, c);
        return d;
    }

    private static int Numel(int[] s) => s.Aggregate(1, (a, b) => a * b);

    /// <summary>Flat offset of the broadcast position <paramref name="idx"/> (full rank) in a row-major array of shape.</summary>
    private static int Off(int[] shape, int[] idx)
    {
        int lead = idx.Length - shape.Length, off = 0;
        var st = Ref.Strides(shape);
        for (int d = 0; d < shape.Length; d++) off += (shape[d] == 1 ? 0 : idx[d + lead]) * st[d];
        return off;
    }

    /// <summary>A mask's values: floats with some −inf (float) or 0/1 (int: 0 = blocked), a fully blocked row 1 where the
    /// mask has rows.</summary>
    private static float[] MaskValues(Case c)
    {
        var shape = c.MaskShape!;
        var r = new Random(5);
        var m = new float[Numel(shape)];
        for (int i = 0; i < m.Length; i++)
        {
            bool blocked = r.Next(4) == 0 && i % shape[^1] != 0;
            m[i] = c.Mask == MaskKind.Int ? (blocked ? 0f : 1f) : blocked ? NegInf : (float)(r.NextDouble() - 0.5);
        }
        if (c.Mask == MaskKind.Int && shape.Length >= 2 && shape[^2] > 1)
            for (int j = 0; j < shape[^1]; j++) m[shape[^1] + j] = 0f;
        return m;
    }

    /// <summary>PyTorch's math in double: out, and the gradients of q, k, v and the mask for dL/dout = g.</summary>
    private static (double[] O, double[] Dq, double[] Dk, double[] Dv, double[] Dm) Reference(Case c, float[] q, float[] k, float[] v,
        float[]? mask, float[] g)
    {
        int[] qs = c.Q, ks = c.K, vs = c.V;
        var batch = BroadcastShape(BroadcastShape(qs[..^2], ks[..^2]), vs[..^2]);
        if (c.MaskShape is not null) batch = BroadcastShape(batch, c.MaskShape.Length > 2 ? c.MaskShape[..^2] : []);
        int l = qs[^2], e = qs[^1], s = ks[^2], ev = vs[^1];
        double scale = c.Scale ?? 1.0 / Math.Sqrt(e);
        int[] os = [.. batch, l, ev];
        double[] o = new double[Numel(os)], dq = new double[q.Length], dk = new double[k.Length], dv = new double[v.Length];
        double[] dm = new double[mask?.Length ?? 0];
        foreach (var b in Ref.Indices(batch))
        {
            int[] At(int i, int j) => [.. b, i, j];
            var w = new double[l, s];
            for (int i = 0; i < l; i++)
            {
                var sc = new double[s];
                for (int j = 0; j < s; j++)
                {
                    double dot = 0;
                    for (int x = 0; x < e; x++) dot += (double)q[Off(qs, At(i, x))] * k[Off(ks, At(j, x))];
                    double mv = mask is null ? 0 : mask[Off(c.MaskShape!, At(i, j))];
                    double add = c.Mask == MaskKind.Int ? (mv != 0 ? 0 : double.NegativeInfinity) : mv;
                    sc[j] = c.Causal && j > i ? double.NegativeInfinity : dot * scale + add;
                }
                double m = sc.Max();
                if (double.IsNegativeInfinity(m)) continue; // a fully masked row: zero weights
                double z = sc.Sum(t => Math.Exp(t - m));
                for (int j = 0; j < s; j++) w[i, j] = Math.Exp(sc[j] - m) / z;
            }
            for (int i = 0; i < l; i++)
            {
                var dw = new double[s];
                for (int x = 0; x < ev; x++)
                {
                    double gg = g[Off(os, At(i, x))], acc = 0;
                    for (int j = 0; j < s; j++)
                    {
                        acc += w[i, j] * v[Off(vs, At(j, x))];
                        dw[j] += gg * v[Off(vs, At(j, x))];
                        dv[Off(vs, At(j, x))] += w[i, j] * gg;
                    }
                    o[Off(os, At(i, x))] = acc;
                }
                double dot = 0;
                for (int j = 0; j < s; j++) dot += dw[j] * w[i, j];
                for (int j = 0; j < s; j++)
                {
                    double ds = w[i, j] * (dw[j] - dot);
                    if (dm.Length > 0) dm[Off(c.MaskShape!, At(i, j))] += ds;
                    for (int x = 0; x < e; x++)
                    {
                        dq[Off(qs, At(i, x))] += scale * ds * k[Off(ks, At(j, x))];
                        dk[Off(ks, At(j, x))] += scale * ds * q[Off(qs, At(i, x))];
                    }
                }
            }
        }
        return (o, dq, dk, dv, dm);
    }

    private static int[] BroadcastShape(int[] a, int[] b)
    {
        int r = Math.Max(a.Length, b.Length);
        return Enumerable.Range(0, r).Select(i =>
        {
            int da = i < r - a.Length ? 1 : a[i - (r - a.Length)], db = i < r - b.Length ? 1 : b[i - (r - b.Length)];
            return Math.Max(da, db);
        }).ToArray();
    }

    /// <summary>x as a leaf tensor; with <paramref name="strided"/>, stored transposed and read back through a view.</summary>
    private static Tensor Leaf(float[] x, int[] shape, Device d, bool strided)
    {
        if (!strided) return Tensor.FromArray(x, shape, d).RequiresGradient();
        int[] ts = [.. shape[..^2], shape[^1], shape[^2]];
        var stored = Ref.Indices(ts).Select(i => x[Off(shape, [.. i[..^2], i[^1], i[^2]])]).ToArray();
        var leaf = Tensor.FromArray(stored, ts, d).RequiresGradient();
        return leaf;
    }

    [Theory, MemberData(nameof(All))]
    public void ForwardAndGradientsMatchTheDoubleReference(string device, string name)
    {
        var d = TestDevices.Use(device);
        var c = Cases[name];
        float[] q = Ref.Random(Numel(c.Q), 1), k = Ref.Random(Numel(c.K), 2), v = Ref.Random(Numel(c.V), 3);
        var mask = c.Mask == MaskKind.None ? null : MaskValues(c);
        Tensor ql = Leaf(q, c.Q, d, c.Strided), kl = Leaf(k, c.K, d, c.Strided), vl = Leaf(v, c.V, d, false);
        Tensor qt = c.Strided ? ql.Transpose(-2, -1) : ql, kt = c.Strided ? kl.Transpose(-2, -1) : kl;
        Tensor? m = mask is null ? null : c.Mask == MaskKind.Int
            ? Tensor.FromArray(mask.Select(x => (int)x).ToArray(), c.MaskShape!, d)
            : Tensor.FromArray(mask, c.MaskShape!, d);
        if (c.Mask == MaskKind.FloatGrad) m!.RequiresGradient();
        var y = Functional.ScaledDotProductAttention(qt, kt, vl, m, isCausal: c.Causal, scale: c.Scale);
        var g = Ref.Random(y.Count, 4);
        var (o, dq, dk, dv, dm) = Reference(c, q, k, v, mask, g);
        double tol = TestDevices.Tol(d, 2e-5);
        Ref.Close(o, y.ToArray<float>(), tol, $"{name} output");
        y.Backward(Tensor.FromArray(g, y.Shape, d));
        var gq = c.Strided ? ql.Grad!.Transpose(-2, -1).Contiguous() : ql.Grad!;
        var gk = c.Strided ? kl.Grad!.Transpose(-2, -1).Contiguous() : kl.Grad!;
        Ref.Close(dq, gq.ToArray<float>(), 5 * tol, $"{name} dq");
        Ref.Close(dk, gk.ToArray<float>(), 5 * tol, $"{name} dk");
        Ref.Close(dv, vl.Grad!.ToArray<float>(), 5 * tol, $"{name} dv");
        if (c.Mask == MaskKind.FloatGrad) Ref.Close(dm, m!.Grad!.ToArray<float>(), 5 * tol, $"{name} dmask");
        Assert.All(y.ToArray<float>(), x => Assert.True(float.IsFinite(x)));
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void AFullyMaskedRowGivesZerosAndZeroGradients(string device)
    {
        var d = TestDevices.Use(device);
        var q = Tensor.FromArray(Ref.Random(2 * 4, 7), [2, 4], d).RequiresGradient();
        var k = Tensor.FromArray(Ref.Random(3 * 4, 8), [3, 4], d).RequiresGradient();
        var v = Tensor.FromArray(Ref.Random(3 * 2, 9), [3, 2], d).RequiresGradient();
        var mask = Tensor.FromArray(new float[] { 0, NegInf, 0, NegInf, NegInf, NegInf }, [2, 3], d);
        var y = Functional.ScaledDotProductAttention(q, k, v, mask);
        var ys = y.ToArray<float>();
        Assert.Equal([0f, 0f], ys[2..]);
        y.Sum().Backward();
        Assert.Equal([0f, 0f, 0f, 0f], q.Grad!.ToArray<float>()[4..]);
        Assert.All(k.Grad!.ToArray<float>().Concat(v.Grad!.ToArray<float>()), x => Assert.True(float.IsFinite(x)));
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void DropoutZeroesWeightsAndScalesTheRest(string device)
    {
        var d = TestDevices.Use(device);
        int l = 6, s = 16;
        var q = Tensor.FromArray(Ref.Random(l * 4, 1), [l, 4], d);
        var k = Tensor.FromArray(Ref.Random(s * 4, 2), [s, 4], d);
        var eye = Tensor.FromArray(Enumerable.Range(0, s * s).Select(i => i / s == i % s ? 1f : 0f).ToArray(), [s, s], d);
        var w = Functional.ScaledDotProductAttention(q, k, eye).ToArray<float>(); // v = I: the output is the weights
        var dropped = Functional.ScaledDotProductAttention(q, k, eye, dropoutP: 0.25f, generator: new Generator(3)).ToArray<float>();
        int zeros = 0;
        for (int i = 0; i < w.Length; i++)
        {
            if (dropped[i] == 0f) { zeros++; continue; }
            Assert.True(Math.Abs(dropped[i] - w[i] / 0.75f) <= 1e-5 * (1 + w[i]), $"[{i}]: {dropped[i]} vs {w[i] / 0.75f}");
        }
        Assert.InRange(zeros, 5, 50); // of 96, about 24
    }

    [Fact]
    public void ArgumentsAreChecked()
    {
        Tensor q = Tensor.Ones([2, 3, 4]), k = Tensor.Ones([2, 5, 4]), v = Tensor.Ones([2, 5, 6]);
        const string op = nameof(Functional.ScaledDotProductAttention);
        void Throws<T>(Action a, params string[] parts) where T : Exception
        {
            var e = Assert.Throws<T>(a);
            Assert.Contains(op, e.Message);
            foreach (var p in parts) Assert.Contains(p, e.Message);
        }
        Throws<ArgumentException>(() => Functional.ScaledDotProductAttention(Tensor.Ones([4]), k, v), "query", "[4]");
        Throws<ArgumentException>(() => Functional.ScaledDotProductAttention(Tensor.Ones([2, 3, 5]), k, v), "[2, 3, 5]", "[2, 5, 4]");
        Throws<ArgumentException>(() => Functional.ScaledDotProductAttention(q, k, Tensor.Ones([2, 4, 6])), "[2, 4, 6]", "S");
        Throws<ArgumentException>(() => Functional.ScaledDotProductAttention(q, Tensor.Ones([3, 5, 4]), v), "[2]", "[3]");
        Throws<ArgumentException>(() => Functional.ScaledDotProductAttention(q, k, v, Tensor.Zeros([3, 5]), isCausal: true), "isCausal");
        Throws<ArgumentException>(() => Functional.ScaledDotProductAttention(q, k, v, Tensor.Zeros([4, 5])),
            "attnMask", "[4, 5]", "[2, 3, 5]");
        // A float64 mask makes the whole op compute in float64 (any float64 operand does).
        Assert.Equal(DType.Float64, Functional.ScaledDotProductAttention(q, k, v, Tensor.Zeros([3, 5], DType.Float64)).DType);
        Throws<ArgumentOutOfRangeException>(() => Functional.ScaledDotProductAttention(q, k, v, dropoutP: 1f), "dropoutP", "1");
        Throws<ArgumentOutOfRangeException>(() => Functional.ScaledDotProductAttention(q, k, v, dropoutP: -0.1f), "dropoutP");
        Throws<ArgumentOutOfRangeException>(() => Functional.ScaledDotProductAttention(q, k, v, scale: float.NaN), "scale");
        Throws<NotSupportedException>(() => Functional.ScaledDotProductAttention(q, k.To(DType.Int32), v), "'key'", "int32");
        Assert.Throws<ArgumentNullException>(() => Functional.ScaledDotProductAttention(q, k, null!));
        var sim = Device.Parse("ilgpu-cpu");
        if (sim.IsAvailable)
            Assert.Throws<DeviceMismatchException>(() => Functional.ScaledDotProductAttention(q, k, v.To(sim)));
    }
}
