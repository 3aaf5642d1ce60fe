using DeepSharp.Tests;

namespace DeepSharp.Layers.Tests;

/// <summary>
/// The recurrent layers' contract beyond the numbers: PyTorch's parameter names, shapes and initialization bounds,
/// batch-first and bidirectional shapes, a deferred input size, dropout between layers, the argument and input checks,
/// and a smoke run of an LSTM language-model step.
/// </summary>
public class RecurrentShapeTests
{
    [Fact]
    public void StateDictNamesAndShapesArePyTorchs()
    {
        // nn.LSTM(10, 20, 2, bidirectional=True).state_dict(): per layer and direction weight_ih, weight_hh, bias_ih, bias_hh.
        var sd = Initialized(new Lstm(10, 20, 2, bidirectional: true)).StateDict();
        string[] names = [.. from l in new[] { "_l0", "_l1" } from d in new[] { "", "_reverse" }
                             from n in new[] { "weight_ih", "weight_hh", "bias_ih", "bias_hh" } select n + l + d];
        Assert.Equal(names, sd.Keys);
        Assert.Equal([80, 10], sd["weight_ih_l0"].Shape);
        Assert.Equal([80, 10], sd["weight_ih_l0_reverse"].Shape);
        Assert.Equal([80, 40], sd["weight_ih_l1"].Shape);
        Assert.Equal([80, 20], sd["weight_hh_l1_reverse"].Shape);
        Assert.Equal([80], sd["bias_hh_l1"].Shape);
        var gru = Initialized(new Gru(5, 7, bias: false)).StateDict();
        Assert.Equal(["weight_ih_l0", "weight_hh_l0"], gru.Keys);
        Assert.Equal([21, 5], gru["weight_ih_l0"].Shape);
        var rnn = Initialized(new Rnn(5, 7, 3)).StateDict();
        Assert.Equal(12, rnn.Count);
        Assert.Equal([7, 7], rnn["weight_ih_l2"].Shape);
    }

    private static Block Initialized(Block b)
    {
        b.Initialize();
        return b;
    }

    [Fact]
    public void EveryParameterIsUniformWithinOneOverSqrtHidden()
    {
        Init.ManualSeed(3);
        var lstm = new Lstm(5, 16, 2);
        lstm.Initialize();
        foreach (var (path, p) in lstm.NamedParameters())
        {
            var v = p.Data.ToArray<float>();
            Assert.True(v.All(a => Math.Abs(a) <= 0.25f), $"{path}: outside ±1/√16");
            Assert.True(v.Max() > 0.15f && v.Min() < -0.15f, $"{path}: [{v.Min()}, {v.Max()}] is narrower than ±0.25");
        }
    }

    [Fact]
    public void BatchFirstIsTheTransposeOfSeqFirst()
    {
        Init.ManualSeed(5);
        var seq = new Gru(4, 3, 2, bidirectional: true);
        var bf = new Gru(4, 3, 2, batchFirst: true, bidirectional: true);
        seq.Initialize(); bf.Initialize();
        bf.LoadStateDict(seq.StateDict());
        var x = Tensor.FromArray(Ref.Random(5 * 2 * 4, 1), [5, 2, 4]);
        var (y, hn) = seq.Call((x, null));
        var (yb, hb) = bf.Call((x.Transpose(0, 1).Contiguous(), null));
        Assert.Equal([5, 2, 6], y.Shape);
        Assert.Equal([2, 5, 6], yb.Shape);
        Assert.Equal([4, 2, 3], hn.Shape);
        Assert.Equal(y.ToArray<float>(), yb.Transpose(0, 1).Contiguous().ToArray<float>());
        Assert.Equal(hn.ToArray<float>(), hb.ToArray<float>());
        // The forward direction's last step and the reverse direction's first step are hn's last layer.
        var last = y.ToArray<float>();
        var h = hn.ToArray<float>();
        for (int b = 0; b < 2; b++)
            for (int u = 0; u < 3; u++)
            {
                Assert.Equal(last[(4 * 2 + b) * 6 + u], h[(2 * 2 + b) * 3 + u]);
                Assert.Equal(last[(0 * 2 + b) * 6 + 3 + u], h[(3 * 2 + b) * 3 + u]);
            }
    }

    [Fact]
    public void InputSizeMinusOneComesFromTheFirstBatch()
    {
        var lstm = new Lstm(-1, 3, 2);
        Assert.Equal(-1, lstm.InputSize);
        var (y, (h, c)) = lstm.Call((Tensor.Zeros([4, 2, 7]), null));
        Assert.Equal(7, lstm.InputSize);
        Assert.Equal([12, 7], lstm.StateDict()["weight_ih_l0"].Shape);
        Assert.Equal([12, 3], lstm.StateDict()["weight_ih_l1"].Shape);
        Assert.Equal([4, 2, 3], y.Shape);
        Assert.Equal([2, 2, 3], c.Shape);
        Assert.Equal([2, 2, 3], h.Shape);
    }

    [Fact]
    public void DropoutActsBetweenLayersInTrainingOnly()
    {
        Init.ManualSeed(9);
        var plain = new Lstm(4, 3, 2);
        var drop = new Lstm(4, 3, 2, dropout: 0.5f);
        plain.Initialize(); drop.Initialize();
        drop.LoadStateDict(plain.StateDict());
        var x = Tensor.FromArray(Ref.Random(3 * 2 * 4, 2), [3, 2, 4]);
        var expected = plain.Call((x, null)).Output.ToArray<float>();
        Assert.NotEqual(expected, drop.Call((x, null)).Output.ToArray<float>());
        drop.Eval();
        Assert.Equal(expected, drop.Call((x, null)).Output.ToArray<float>());
    }

    [Fact]
    public void BadArgumentsAndInputsSayWhatIsWrong()
    {
        Assert.Equal("hiddenSize", Assert.Throws<ArgumentOutOfRangeException>(() => new Lstm(3, 0)).ParamName);
        Assert.Equal("inputSize", Assert.Throws<ArgumentOutOfRangeException>(() => new Gru(-2, 3)).ParamName);
        Assert.Equal("numLayers", Assert.Throws<ArgumentOutOfRangeException>(() => new Rnn(3, 3, 0)).ParamName);
        Assert.Equal("dropout", Assert.Throws<ArgumentOutOfRangeException>(() => new Lstm(3, 3, dropout: 1f)).ParamName);
        Assert.Equal("nonlinearity", Assert.Throws<ArgumentOutOfRangeException>(() => new Rnn(3, 3, 1, (RnnNonlinearity)7)).ParamName);
        var lstm = new Lstm(4, 3, 2);
        var e = Assert.Throws<ArgumentException>(() => lstm.Call((Tensor.Zeros([2, 4]), null)));
        Assert.Contains("[seq, batch, input]", e.Message); Assert.Contains("[2, 4]", e.Message);
        e = Assert.Throws<ArgumentException>(() => lstm.Call((Tensor.Zeros([2, 1, 5]), null)));
        Assert.Contains("4 features", e.Message); Assert.Contains("[2, 1, 5]", e.Message);
        var badState = (Tensor.Zeros([1, 1, 3]), Tensor.Zeros([2, 1, 3]));
        e = Assert.Throws<ArgumentException>(() => lstm.Call((Tensor.Zeros([2, 1, 4]), badState)));
        Assert.Contains("h0", e.Message); Assert.Contains("[2, 1, 3]", e.Message); Assert.Contains("[1, 1, 3]", e.Message);
        Assert.Equal("Lstm(4, 3, num_layers=2)", lstm.ToString().Split('\n')[0].Trim());
    }

    /// <summary>An LSTM language-model step at a size that matters (T = 35, B = 32, 28 one-hot classes, H = 256): it runs,
    /// its loss starts near ln 28 and every parameter gets a finite gradient. No timing claims.</summary>
    [Fact]
    public void LanguageModelStepRuns()
    {
        Init.ManualSeed(11);
        const int T = 35, B = 32, V = 28, Hd = 256;
        var lstm = new Lstm(V, Hd);
        var head = new Dense(V, Hd);
        lstm.Initialize(); head.Initialize();
        var rng = new Random(1);
        var tokens = Enumerable.Range(0, (T + 1) * B).Select(_ => (long)rng.Next(V)).ToArray();
        var onehot = new float[T * B * V];
        for (int i = 0; i < T * B; i++) onehot[i * V + tokens[i]] = 1f;
        var x = Tensor.FromArray(onehot, [T, B, V]);
        var labels = Tensor.FromArray(tokens[B..], [T * B]);
        var (y, (h, c)) = lstm.Call((x, null));
        var loss = Functional.CrossEntropy(head.Call(y).Reshape(T * B, V), labels);
        double l0 = loss.Item();
        Assert.InRange(l0, Math.Log(V) - 0.3, Math.Log(V) + 0.3);
        loss.Backward();
        foreach (var (path, p) in lstm.NamedParameters().Concat(head.NamedParameters()))
        {
            var g = p.Grad!.ToArray<float>();
            Assert.True(g.All(float.IsFinite) && g.Any(v => v != 0), $"{path}: gradient not finite or all zero");
        }
        Assert.Equal([1, B, Hd], h.Shape);
        Assert.Equal([1, B, Hd], c.Shape);
    }
}
