using DeepSharp.Tests;

namespace DeepSharp.Layers.Tests;

/// <summary>
/// <see cref="MultiHeadAttention"/> against a double-precision implementation of PyTorch's equations
/// (F.multi_head_attention_forward): output and attention weights (averaged or per head) with key padding masks and
/// attention masks of both kinds, causal, batchFirst, unbatched input, kdim/vdim ≠ E and no bias, on every device; then
/// PyTorch's parameter names, shapes and initialization, and the argument errors.
/// </summary>
public class MultiHeadAttentionTests
{
    public sealed record Case(int E, int H, int L, int S, int N, bool Self = false, bool BatchFirst = false, bool Unbatched = false,
        int? KDim = null, int? VDim = null, bool Bias = true, string Kpm = "", string Attn = "", bool Causal = false, bool Average = true);

    public static readonly Dictionary<string, Case> Cases = new()
    {
        ["self, int key padding"] = new(8, 2, 4, 4, 2, Self: true, Kpm: "int"),
        ["cross, batchFirst, float mask, per head"] = new(8, 2, 3, 5, 2, BatchFirst: true, Attn: "float2d", Average: false),
        ["kdim vdim, int [N·H, L, S] mask"] = new(8, 4, 3, 5, 2, KDim: 6, VDim: 5, Attn: "int3d"),
        ["unbatched causal"] = new(6, 3, 5, 5, 1, Self: true, Unbatched: true, Causal: true),
        ["causal with float key padding"] = new(8, 2, 4, 4, 3, Self: true, BatchFirst: true, Kpm: "float", Causal: true),
        ["no bias, padding blocks a whole row"] = new(4, 1, 2, 3, 2, Bias: false, Kpm: "all"),
    };

    public static TheoryData<string, string> All()
    {
        var d = new TheoryData<string, string>();
        foreach (var dev in TestDevices.Names) foreach (var c in Cases.Keys) d.Add(dev, c);
        return d;
    }

    private static float[] Rand(int n, int seed) => Ref.Random(n, seed, -1f, 1f);

    /// <summary>PyTorch's equations in double, seq-first: query [L, N, E], key [S, N, kdim], value [S, N, vdim] → out
    /// [L, N, E] and weights [N, H, L, S]. Masks as additive doubles (kpm [N, S], attn [L, S] or [N·H, L, S]).</summary>
    private static (double[] Y, double[] W) Reference(Case c, Dictionary<string, float[]> p, float[] q, float[] k, float[] v,
        double[]? kpm, double[]? attn)
    {
        int e = c.E, h = c.H, dh = e / h, l = c.L, s = c.S, n = c.N, kd = c.KDim ?? e, vd = c.VDim ?? e;
        float[] wq, wk, wv;
        if (p.TryGetValue("in_proj_weight", out var w3)) (wq, wk, wv) = (w3[..(e * e)], w3[(e * e)..(2 * e * e)], w3[(2 * e * e)..]);
        else (wq, wk, wv) = (p["q_proj_weight"], p["k_proj_weight"], p["v_proj_weight"]);
        var b = p.GetValueOrDefault("in_proj_bias") ?? new float[3 * e];
        double Proj(float[] x, int row, int inF, float[] w, int bOff, int o)
        {
            double a = b[bOff + o];
            for (int i = 0; i < inF; i++) a += (double)w[o * inF + i] * x[row * inF + i];
            return a;
        }
        var cat = new double[l * n * e];
        var weights = new double[n * h * l * s];
        for (int bn = 0; bn < n; bn++)
            for (int hh = 0; hh < h; hh++)
                for (int i = 0; i < l; i++)
                {
                    var sc = new double[s];
                    for (int j = 0; j < s; j++)
                    {
                        double dot = 0;
                        for (int d = 0; d < dh; d++)
                            dot += Proj(q, i * n + bn, e, wq, 0, hh * dh + d) * Proj(k, j * n + bn, kd, wk, e, hh * dh + d);
                        sc[j] = dot / Math.Sqrt(dh) + (kpm?[bn * s + j] ?? 0)
                            + (attn is null ? 0 : attn.Length == l * s ? attn[i * s + j] : attn[((bn * h + hh) * l + i) * s + j]);
                        if (c.Causal && j > i) sc[j] = double.NegativeInfinity;
                    }
                    double m = sc.Max();
                    if (double.IsNegativeInfinity(m)) continue;
                    double z = sc.Sum(t => Math.Exp(t - m));
                    for (int j = 0; j < s; j++) weights[((bn * h + hh) * l + i) * s + j] = Math.Exp(sc[j] - m) / z;
                    for (int d = 0; d < dh; d++)
                    {
                        double acc = 0;
                        for (int j = 0; j < s; j++)
                            acc += weights[((bn * h + hh) * l + i) * s + j] * Proj(v, j * n + bn, vd, wv, 2 * e, hh * dh + d);
                        cat[(i * n + bn) * e + hh * dh + d] = acc;
                    }
                }
        float[] wo = p["out_proj.weight"], bo = p.GetValueOrDefault("out_proj.bias") ?? new float[e];
        var y = new double[l * n * e];
        for (int r = 0; r < l * n; r++)
            for (int o = 0; o < e; o++)
            {
                double a = bo[o];
                for (int i = 0; i < e; i++) a += wo[o * e + i] * cat[r * e + i];
                y[r * e + o] = a;
            }
        return (y, weights);
    }

    /// <summary>[A, B, F] row-major → [B, A, F].</summary>
    private static T[] Swap01<T>(T[] x, int a, int b, int f)
    {
        var y = new T[x.Length];
        for (int i = 0; i < a; i++) for (int j = 0; j < b; j++) Array.Copy(x, (i * b + j) * f, y, (j * a + i) * f, f);
        return y;
    }

    [Theory, MemberData(nameof(All))]
    public void MatchesPyTorchsEquations(string device, string name)
    {
        var d = TestDevices.Use(device);
        var c = Cases[name];
        int e = c.E, l = c.L, s = c.S, n = c.N, kd = c.KDim ?? e, vd = c.VDim ?? e;
        var mha = new MultiHeadAttention(e, c.H, bias: c.Bias, kdim: c.KDim, vdim: c.VDim, batchFirst: c.BatchFirst);
        mha.Initialize(device: Device.Cpu);
        int seed = 10;
        var p = new Dictionary<string, float[]>();
        foreach (var (path, param) in mha.NamedParameters())
        {
            p[path] = Rand(param.Data.Count, seed++); // biases too: PyTorch initializes them to zero, which would test nothing
            using (Autograd.NoGrad()) param.Data.CopyFrom<float>(p[path]);
        }
        mha.To(d);
        float[] q = Rand(l * n * e, 1), k = c.Self ? q : Rand(s * n * kd, 2), v = c.Self ? q : Rand(s * n * vd, 3);
        Tensor In(float[] x, int len, int f)
        {
            if (c.Unbatched) return Tensor.FromArray(x, [len, f], d);
            return c.BatchFirst ? Tensor.FromArray(Swap01(x, len, n, f), [n, len, f], d) : Tensor.FromArray(x, [len, n, f], d);
        }
        var qt = In(q, l, e);
        Tensor kt = c.Self ? qt : In(k, s, kd), vt = c.Self ? qt : In(v, s, vd);
        double[]? kpm = null, attn = null;
        Tensor? kpmT = null, attnT = null;
        var r = new Random(4);
        if (c.Kpm != "")
        {
            // int: 1 = padding; row 1's last key padded. "all": every key of batch entry 1 padded.
            var pad = Enumerable.Range(0, n * s).Select(i => c.Kpm == "all" ? i / s == 1 : i % s == s - 1 && i / s == 1).ToArray();
            kpm = pad.Select(x => x ? double.NegativeInfinity : 0).ToArray();
            if (c.Kpm == "float")
            {
                var f = pad.Select(x => x ? float.NegativeInfinity : (float)(r.NextDouble() - 0.5)).ToArray();
                kpm = f.Select(x => (double)x).ToArray();
                kpmT = Tensor.FromArray(f, c.Unbatched ? [s] : [n, s], d);
            }
            else kpmT = Tensor.FromArray(pad.Select(x => x ? 1 : 0).ToArray(), c.Unbatched ? [s] : [n, s], d);
        }
        if (c.Attn == "float2d")
        {
            var f = Enumerable.Range(0, l * s).Select(i => i % s == 2 ? float.NegativeInfinity : (float)(r.NextDouble() - 0.5)).ToArray();
            attn = f.Select(x => (double)x).ToArray();
            attnT = Tensor.FromArray(f, [l, s], d);
        }
        else if (c.Attn == "int3d")
        {
            var blocked = Enumerable.Range(0, n * c.H * l * s).Select(i => i % s != 0 && r.Next(3) == 0).ToArray();
            attn = blocked.Select(x => x ? double.NegativeInfinity : 0).ToArray();
            attnT = Tensor.FromArray(blocked.Select(x => x ? 1L : 0L).ToArray(), [n * c.H, l, s], d);
        }
        var (y, w) = mha.Call(qt, kt, vt, kpmT, needWeights: true, attnMask: attnT, averageAttnWeights: c.Average, isCausal: c.Causal);
        var (ey, ew) = Reference(c, p, q, k, v, kpm, attn);
        double tol = TestDevices.Tol(d, 2e-5);
        var yv = c.Unbatched ? y.ToArray<float>() : c.BatchFirst ? Swap01(y.ToArray<float>(), n, l, e) : y.ToArray<float>();
        Assert.Equal(c.Unbatched ? [l, e] : c.BatchFirst ? new[] { n, l, e } : [l, n, e], y.Shape);
        Ref.Close(ey, yv, tol, $"{name} output");
        if (c.Average)
        {
            var avg = new double[n * l * s];
            for (int i = 0; i < ew.Length; i++) avg[(i / (c.H * l * s)) * l * s + i % (l * s)] += ew[i] / c.H;
            ew = avg;
        }
        int[] wShape = c.Average ? [n, l, s] : [n, c.H, l, s];
        Assert.Equal(c.Unbatched ? wShape[1..] : wShape, w!.Shape);
        Ref.Close(ew, w.ToArray<float>(), tol, $"{name} weights");
        // The simple call: the same output, no weights.
        if (kpmT is null && attnT is null && !c.Causal) Assert.Equal(y.ToArray<float>(), mha.Call((qt, kt, vt)).ToArray<float>());
        var simple = mha.Call(qt, kt, vt, kpmT, needWeights: false, attnMask: attnT, isCausal: c.Causal).Output;
        Assert.Equal(y.ToArray<float>(), simple.ToArray<float>());
    }

    [Fact]
    public void DropoutAppliesToTheWeightsInTrainingModeOnly()
    {
        var mha = new MultiHeadAttention(8, 2, dropout: 0.5f);
        var x = Tensor.FromArray(Rand(6 * 2 * 8, 7), [6, 2, 8]);
        var (y, w) = mha.Call(x, x, x, averageAttnWeights: false);
        var weights = w!.ToArray<float>();
        Assert.Contains(0f, weights);
        Assert.Contains(weights, v => v > 1f / 6); // kept weights are scaled by 1/(1 − p)
        mha.Eval();
        var (ye, we) = mha.Call(x, x, x, averageAttnWeights: false);
        Assert.DoesNotContain(0f, we!.ToArray<float>());
        var rows = we.Sum(-1).ToArray<float>();
        Assert.All(rows, r => Assert.Equal(1f, r, 1e-5f));
        Assert.Equal(ye.ToArray<float>(), mha.Call((x, x, x)).ToArray<float>());
        Assert.NotEqual(ye.ToArray<float>(), y.ToArray<float>());
    }

    [Fact]
    public void TheTupleCallIsTheUnmaskedForward()
    {
        var mha = new MultiHeadAttention(8, 2, batchFirst: true);
        var x = Tensor.FromArray(Rand(2 * 3 * 8, 5), [2, 3, 8]);
        Assert.Equal(mha.Call(x, x, x).Output.ToArray<float>(), mha.Call((x, x, x)).ToArray<float>());
    }

    [Fact]
    public void ParametersHavePyTorchsNamesShapesAndInitialization()
    {
        Init.ManualSeed(1);
        var mha = new MultiHeadAttention(16, 4);
        mha.Initialize();
        var sd = mha.StateDict();
        Assert.Equal(new[] { "in_proj_bias", "in_proj_weight", "out_proj.bias", "out_proj.weight" }, sd.Keys.Order());
        Assert.Equal([48, 16], sd["in_proj_weight"].Shape);
        Assert.Equal([48], sd["in_proj_bias"].Shape);
        Assert.Equal([16, 16], sd["out_proj.weight"].Shape);
        Assert.All(sd["in_proj_bias"].ToArray<float>().Concat(sd["out_proj.bias"].ToArray<float>()), b => Assert.Equal(0f, b));
        // xavier_uniform_ on [3E, E]: bound √(6/(E + 3E)); out_proj keeps Linear's U(±1/√E).
        double bound = Math.Sqrt(6.0 / (16 + 48)), outBound = 1 / Math.Sqrt(16);
        var w = sd["in_proj_weight"].ToArray<float>();
        Assert.All(w, x => Assert.InRange(Math.Abs(x), 0, bound));
        Assert.True(w.Max(Math.Abs) > 0.9 * bound);
        Assert.All(sd["out_proj.weight"].ToArray<float>(), x => Assert.InRange(Math.Abs(x), 0, outBound));
        var sep = new MultiHeadAttention(8, 2, bias: false, kdim: 3, vdim: 5);
        sep.Initialize();
        var names = sep.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Shape);
        Assert.Equal(new[] { "k_proj_weight", "out_proj.weight", "q_proj_weight", "v_proj_weight" }, names.Keys.Order());
        Assert.Equal([8, 3], names["k_proj_weight"]);
        Assert.Equal([8, 5], names["v_proj_weight"]);
        // A state dict loads into a fresh layer of the same configuration.
        var copy = new MultiHeadAttention(16, 4);
        copy.LoadStateDict(sd);
        var x = Tensor.FromArray(Rand(3 * 2 * 16, 6), [3, 2, 16]);
        Assert.Equal(mha.Call((x, x, x)).ToArray<float>(), copy.Call((x, x, x)).ToArray<float>());
    }

    [Fact]
    public void ArgumentsAreChecked()
    {
        Assert.Contains("numHeads", Assert.Throws<ArgumentOutOfRangeException>(() => new MultiHeadAttention(10, 3)).Message);
        Assert.Contains("embedDim", Assert.Throws<ArgumentOutOfRangeException>(() => new MultiHeadAttention(0, 1)).Message);
        Assert.Contains("dropout", Assert.Throws<ArgumentOutOfRangeException>(() => new MultiHeadAttention(4, 2, dropout: 1f)).Message);
        var mha = new MultiHeadAttention(8, 2);
        Tensor x = Tensor.Zeros([3, 2, 8]);
        void Fails(Func<object> f, params string[] parts)
        {
            var e = Assert.Throws<ArgumentException>(f);
            foreach (var p in parts) Assert.Contains(p, e.Message);
        }
        Fails(() => mha.Call(Tensor.Zeros([3, 2, 7]), x, x), "query", "8 features", "[3, 2, 7]");
        Fails(() => mha.Call(x, Tensor.Zeros([4, 2, 8]), x), "key", "value", "length S");
        Fails(() => mha.Call(x, Tensor.Zeros([3, 8]), Tensor.Zeros([3, 8])), "unbatched");
        Fails(() => mha.Call(x, Tensor.Zeros([5, 3, 8]), Tensor.Zeros([5, 3, 8])), "batch size N");
        Fails(() => mha.Call(x, x, x, keyPaddingMask: Tensor.Zeros([3, 2])), "keyPaddingMask", "[2, 3]");
        Fails(() => mha.Call(x, x, x, attnMask: Tensor.Zeros([2, 3])), "attnMask", "[3, 3]", "[4, 3, 3]");
        Fails(() => mha.Call(x, x, x, attnMask: Tensor.Zeros([3, 3], DType.Float64)), "attnMask", "float64");
        var sim = Device.Parse("ilgpu-cpu");
        if (sim.IsAvailable)
        {
            Assert.Throws<DeviceMismatchException>(() => mha.Call(x, x, x, keyPaddingMask: Tensor.Zeros([2, 3], DType.Int32, sim)));
            Assert.Throws<DeviceMismatchException>(() => mha.Call((x.To(sim), x.To(sim), x.To(sim))));
        }
    }
}
