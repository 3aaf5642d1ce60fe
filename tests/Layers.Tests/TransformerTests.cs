using DeepSharp.Tests;

namespace DeepSharp.Layers.Tests;

/// <summary>
/// <see cref="TransformerEncoderLayer"/>, <see cref="TransformerDecoderLayer"/>, the stacks, <see cref="Transformer"/> and
/// <see cref="PositionalEncoding"/> against PyTorch's equations in double (<see cref="TransformerReference"/>) composed from
/// the same parameters, in evaluation mode, on every device: post-norm and pre-norm, relu and gelu, padding, float and causal
/// masks, both layouts; then PyTorch's child names, initialization and argument errors.
/// </summary>
public class TransformerTests
{
    private const int E = 8, Heads = 2, Ff = 12, N = 2;

    public static readonly Dictionary<string, (bool NormFirst, bool Gelu, bool BatchFirst, string Mask)> Layers = new()
    {
        ["post-norm relu, int padding"] = (false, false, false, "padding"),
        ["pre-norm gelu, causal, batchFirst"] = (true, true, true, "causal"),
        ["post-norm gelu, float mask, batchFirst"] = (false, true, true, "float"),
        ["pre-norm relu, float mask"] = (true, false, false, "float"),
    };

    public static TheoryData<string, string> All()
    {
        var d = new TheoryData<string, string>();
        foreach (var dev in TestDevices.Names) foreach (var c in Layers.Keys) d.Add(dev, c);
        return d;
    }

    /// <summary>Every parameter set to distinct values (PyTorch's zero biases and unit norms would test less), on the CPU.</summary>
    internal static void Randomize(Block b, int seed)
    {
        b.Initialize(device: Device.Cpu);
        foreach (var (_, p) in b.NamedParameters())
            using (Autograd.NoGrad()) p.Data.CopyFrom<float>(Ref.Random(p.Data.Count, seed++, -0.5f, 0.5f));
    }

    private static T[] Swap01<T>(T[] x, int a, int b, int f)
    {
        var y = new T[x.Length];
        for (int i = 0; i < a; i++) for (int j = 0; j < b; j++) Array.Copy(x, (i * b + j) * f, y, (j * a + i) * f, f);
        return y;
    }

    /// <summary>A seq-first [len, N, E] array as the layer's input tensor.</summary>
    private static Tensor Input(float[] x, int len, bool batchFirst, Device d) =>
        batchFirst ? Tensor.FromArray(Swap01(x, len, N, E), [N, len, E], d) : Tensor.FromArray(x, [len, N, E], d);

    private static float[] Output(Tensor y, int len, bool batchFirst) =>
        batchFirst ? Swap01(y.ToArray<float>(), N, len, E) : y.ToArray<float>();

    private static double[] D(float[] x) => x.Select(v => (double)v).ToArray();

    /// <summary>A mask for L queries over S keys: padding (int [N, S], the last key of batch entry 1), a float [L, S] mask
    /// with −inf at key 1 of query 0, or none.</summary>
    private static (Tensor? Padding, double[]? PaddingRef, Tensor? Mask, double[]? MaskRef) Masks(string kind, int l, int s, Device d)
    {
        if (kind == "padding")
        {
            var pad = Enumerable.Range(0, N * s).Select(i => i / s == 1 && i % s == s - 1 ? 1 : 0).ToArray();
            return (Tensor.FromArray(pad, [N, s], d), pad.Select(v => v == 1 ? double.NegativeInfinity : 0).ToArray(), null, null);
        }
        if (kind == "float")
        {
            var m = Ref.Random(l * s, 9, -1f, 1f);
            m[1] = float.NegativeInfinity;
            return (null, null, Tensor.FromArray(m, [l, s], d), D(m));
        }
        return (null, null, null, null);
    }

    [Theory, MemberData(nameof(All))]
    public void EncoderLayerMatchesTheReference(string device, string name)
    {
        var d = TestDevices.Use(device);
        var (normFirst, gelu, batchFirst, mask) = Layers[name];
        const int l = 5;
        var layer = new TransformerEncoderLayer(E, Heads, Ff, 0.1f, gelu ? TransformerActivation.Gelu : TransformerActivation.Relu,
            batchFirst: batchFirst, normFirst: normFirst);
        Randomize(layer, 3);
        var reference = new TransformerReference(TransformerReference.Parameters(layer), Heads, N);
        layer.To(d).Eval();
        var x = Ref.Random(l * N * E, 1);
        var (pad, padRef, m, mRef) = Masks(mask, l, l, d);
        var y = layer.Call(Input(x, l, batchFirst, d), m, pad, isCausal: mask == "causal");
        var expected = reference.Encoder("", D(x), E, normFirst, gelu, padRef, mRef, mask == "causal");
        Ref.Close(expected, Output(y, l, batchFirst), TestDevices.Tol(d, 5e-5), name);
        var unmasked = Input(x, l, batchFirst, d);
        Assert.Equal(layer.Call(unmasked, null).ToArray<float>(), layer.Call(unmasked).ToArray<float>());
    }

    [Theory, MemberData(nameof(All))]
    public void DecoderLayerMatchesTheReference(string device, string name)
    {
        var d = TestDevices.Use(device);
        var (normFirst, gelu, batchFirst, mask) = Layers[name];
        const int t = 4, s = 6;
        var layer = new TransformerDecoderLayer(E, Heads, Ff, 0.1f, gelu ? TransformerActivation.Gelu : TransformerActivation.Relu,
            batchFirst: batchFirst, normFirst: normFirst);
        Randomize(layer, 5);
        var reference = new TransformerReference(TransformerReference.Parameters(layer), Heads, N);
        layer.To(d).Eval();
        float[] x = Ref.Random(t * N * E, 1), mem = Ref.Random(s * N * E, 2);
        // The padding masks the memory's keys; the float mask and causal apply to the target's self-attention.
        var (pad, padRef, _, _) = Masks(mask == "padding" ? "padding" : "", t, s, d);
        var (_, _, m, mRef) = Masks(mask == "float" ? "float" : "", t, t, d);
        var y = layer.Call(Input(x, t, batchFirst, d), Input(mem, s, batchFirst, d), tgtMask: m, memoryKeyPaddingMask: pad,
            tgtIsCausal: mask == "causal");
        var expected = reference.Decoder("", D(x), D(mem), E, normFirst, gelu, mRef, mask == "causal", padRef);
        Ref.Close(expected, Output(y, t, batchFirst), TestDevices.Tol(d, 5e-5), name);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void TheStacksAndTheTransformerMatchTheReference(string device)
    {
        var d = TestDevices.Use(device);
        const int s = 5, t = 3;
        var model = new Transformer(E, Heads, numEncoderLayers: 2, numDecoderLayers: 1, dimFeedforward: Ff, dropout: 0.2f);
        Randomize(model, 11);
        var r = new TransformerReference(TransformerReference.Parameters(model), Heads, N);
        model.To(d).Eval();
        float[] src = Ref.Random(s * N * E, 1), tgt = Ref.Random(t * N * E, 2);
        var (pad, padRef, _, _) = Masks("padding", s, s, d);
        var y = model.Call(Input(src, s, false, d), Input(tgt, t, false, d), srcKeyPaddingMask: pad, memoryKeyPaddingMask: pad,
            tgtMask: Transformer.GenerateSquareSubsequentMask(t, d));
        var memory = D(src);
        for (int k = 0; k < 2; k++) memory = r.Encoder($"encoder.layers.{k}.", memory, E, false, false, padRef, null, false);
        memory = r.LayerNorm(memory, "encoder.norm.", E);
        var expected = r.LayerNorm(r.Decoder("decoder.layers.0.", D(tgt), memory, E, false, false, null, true, padRef), "decoder.norm.", E);
        Ref.Close(expected, y.ToArray<float>(), TestDevices.Tol(d, 5e-5), "transformer");
        // The causal flag gives the same as the generated mask.
        var flagged = model.Call(Input(src, s, false, d), Input(tgt, t, false, d), srcKeyPaddingMask: pad, memoryKeyPaddingMask: pad,
            tgtIsCausal: true);
        Ref.Close(expected, flagged.ToArray<float>(), TestDevices.Tol(d, 5e-5), "transformer, tgtIsCausal");
    }

    [Fact]
    public void ChildrenAndInitializationFollowPyTorch()
    {
        var layer = new TransformerEncoderLayer(16, 4, 32);
        layer.Initialize();
        Assert.Equal(new[] { "dropout", "dropout1", "dropout2", "linear1", "linear2", "norm1", "norm2", "self_attn" },
            layer.NamedChildren().Select(c => c.Name).Order());
        Assert.Equal(new[]
        {
            "linear1.bias", "linear1.weight", "linear2.bias", "linear2.weight", "norm1.bias", "norm1.weight", "norm2.bias", "norm2.weight",
            "self_attn.in_proj_bias", "self_attn.in_proj_weight", "self_attn.out_proj.bias", "self_attn.out_proj.weight",
        }, layer.StateDict().Keys.Order());
        var dec = new TransformerDecoderLayer(16, 4, 32);
        dec.Initialize();
        Assert.Contains("multihead_attn.in_proj_weight", dec.StateDict().Keys);
        Assert.Contains("norm3.weight", dec.StateDict().Keys);
        var enc = new TransformerEncoder(() => new TransformerEncoderLayer(16, 4, 32), 2, new LayerNorm(16));
        enc.Initialize();
        Assert.Contains("layers.1.self_attn.out_proj.weight", enc.StateDict().Keys);
        Assert.Contains("norm.bias", enc.StateDict().Keys);
        Assert.NotEqual(enc.StateDict()["layers.0.linear1.weight"].ToArray<float>(),
            enc.StateDict()["layers.1.linear1.weight"].ToArray<float>());
        var shared = new TransformerEncoderLayer(16, 4, 32);
        Assert.Contains("same layer twice", Assert.Throws<ArgumentException>(() => new TransformerEncoder(() => shared, 2)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new TransformerEncoder(() => new TransformerEncoderLayer(16, 4), 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TransformerEncoderLayer(16, 4, activation: (TransformerActivation)7));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TransformerEncoderLayer(16, 5));
        // nn.Transformer: Xavier-uniform on every matrix (linear1 [32, 16]: bound √(6/48)), unlike a bare layer's U(±1/√16).
        var model = new Transformer(16, 4, 1, 1, 32);
        model.Initialize();
        var w = model.StateDict()["encoder.layers.0.linear1.weight"].ToArray<float>();
        Assert.True(w.Max(Math.Abs) > 0.3 && w.Max(Math.Abs) <= Math.Sqrt(6.0 / 48));
        Assert.Contains("decoder.norm.weight", model.StateDict().Keys);
        var mask = Transformer.GenerateSquareSubsequentMask(3).ToArray<float>();
        Assert.Equal([0f, float.NegativeInfinity, float.NegativeInfinity, 0f, 0f, float.NegativeInfinity, 0f, 0f, 0f], mask);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void PositionalEncodingAddsTheBooksTable(string device)
    {
        var d = TestDevices.Use(device);
        var pe = new PositionalEncoding(6, 0.5f, maxLen: 10).Eval();
        var x = Tensor.FromArray(Ref.Random(2 * 4 * 6, 1), [2, 4, 6], d);
        var y = pe.Call(x).ToArray<float>();
        var xs = x.ToArray<float>();
        var expected = new double[y.Length];
        for (int b = 0; b < 2; b++)
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 6; j++)
                {
                    double angle = i / Math.Pow(10000, 2 * (j / 2) / 6.0);
                    expected[(b * 4 + i) * 6 + j] = xs[(b * 4 + i) * 6 + j] + (j % 2 == 0 ? Math.Sin(angle) : Math.Cos(angle));
                }
        Ref.Close(expected, y, 1e-5, "x + P");
        Assert.Empty(pe.StateDict());
        var tooLong = Tensor.Zeros([1, 11, 6], DType.Float32, d);
        Assert.Contains("steps ≤ 10", Assert.Throws<ArgumentException>(() => pe.Call(tooLong)).Message);
        var train = new PositionalEncoding(6, 0.5f).Call(x).ToArray<float>();
        Assert.Contains(0f, train);
    }

    /// <summary>The table is made in the first call's scope (a training step's) and must outlive it.</summary>
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void PositionalEncodingsTableOutlivesTheFirstStepsScope(string device)
    {
        var d = TestDevices.Use(device);
        var pe = new PositionalEncoding(4, 0f, maxLen: 8);
        var x = Tensor.Zeros([1, 3, 4], DType.Float32, d);
        float[] first;
        using (TensorScope.Begin()) first = pe.Call(x).ToArray<float>();
        using (TensorScope.Begin()) Assert.Equal(first, pe.Call(x).ToArray<float>());
    }
}
