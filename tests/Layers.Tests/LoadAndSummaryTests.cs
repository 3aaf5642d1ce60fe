using System.Globalization;
using DeepSharp.Layers;
using DeepSharp.Tests;

namespace DeepSharp.Layers.Tests;

/// <summary>LoadStateDict's decisions (what is a mismatch, when strictness refuses, that buffers load too) and the
/// Summary table's content, row by row.</summary>
public class LoadAndSummaryTests
{
    private sealed class Scaled : Block
    {
        private readonly Dense _dense;
        private readonly Tensor _scale;
        public Scaled()
        {
            _dense = Register("dense", new Dense(3, 2));
            _scale = RegisterBuffer("scale", Tensor.Ones(3));
        }
        public Tensor Scale => _scale;
        protected override Tensor Forward(Tensor x) => _dense.Call(x) * _scale;
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void BuffersLoadIntoTheModelsOwnTensorsOnItsDevice(string device)
    {
        var d = TestDevices.Use(device);
        var source = new Scaled();
        source.Initialize();
        var state = source.StateDict();
        state["scale"] = Tensor.Full([3], 7f);
        var net = new Scaled();
        net.To(d);
        var scale = net.Scale;
        net.LoadStateDict(state);
        Assert.Same(scale, net.Scale);
        Assert.Equal(d, net.Scale.Device);
        Assert.Equal(new float[] { 7, 7, 7 }, net.Scale.ToArray<float>());
    }

    [Fact]
    public void OneWrongDimIsAMismatchAndNothingIsLoaded()
    {
        var net = new Sequential(new Dense(3, 2));
        net.Initialize(Init.Constant(1f));
        var state = new Dictionary<string, Tensor> { ["0.weight"] = Tensor.Zeros(3, 5), ["0.bias"] = Tensor.Zeros(3) };
        var e = Assert.Throws<StateDictMismatchException>(() => net.LoadStateDict(state, strict: false));
        Assert.Single(e.Mismatched);
        Assert.Contains("0.weight", e.Mismatched[0]);
        Assert.All(net.StateDict().Values.SelectMany(t => t.ToArray<float>()), v => Assert.Equal(1f, v));
    }

    [Fact]
    public void StrictRefusesMissingOrUnexpectedKeysAloneAndSaysOnlyWhatIsWrong()
    {
        var net = new Sequential(new Dense(3, 2));
        net.Initialize(Init.Constant(1f));
        var missing = Assert.Throws<StateDictMismatchException>(() =>
            net.LoadStateDict(new Dictionary<string, Tensor> { ["0.weight"] = Tensor.Zeros(3, 2) }));
        Assert.Equal(["0.bias"], missing.Missing);
        Assert.Empty(missing.Unexpected);
        Assert.Empty(missing.Mismatched);
        Assert.Equal(2, missing.Message.Split('\n').Length); // the summary, then one line: the missing keys
        Assert.Contains("0.bias", missing.Message.Split('\n')[1]);

        var full = new Dictionary<string, Tensor> { ["0.weight"] = Tensor.Zeros(3, 2), ["0.bias"] = Tensor.Zeros(3) };
        var unexpected = Assert.Throws<StateDictMismatchException>(() =>
            net.LoadStateDict(new Dictionary<string, Tensor>(full) { ["x.y"] = Tensor.Zeros(1), ["z.w"] = Tensor.Zeros(1) }));
        Assert.Empty(unexpected.Missing);
        Assert.Equal(["x.y", "z.w"], unexpected.Unexpected);
        Assert.Equal(2, unexpected.Message.Split('\n').Length); // no remap hint: the keys share no prefix
        Assert.Contains("x.y", unexpected.Message.Split('\n')[1]);
        Assert.All(net.StateDict().Values.SelectMany(t => t.ToArray<float>()), v => Assert.Equal(1f, v));

        var report = net.LoadStateDict(new Dictionary<string, Tensor>(full) { ["extra"] = Tensor.Zeros(1) }, strict: false);
        Assert.Equal(["extra"], report.Unexpected);
        Assert.Empty(report.Missing);
        Assert.All(net.StateDict().Values.SelectMany(t => t.ToArray<float>()), v => Assert.Equal(0f, v));
    }

    private sealed record Row(string Block, string Type, long Params, long Shared, string Device);

    /// <summary>The table's rows: block, type, output shape (which has spaces), params, shared, device.</summary>
    private static List<Row> Rows(string summary)
    {
        var lines = summary.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return lines[1..^1].Select(line =>
        {
            var t = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            static long N(string s) => long.Parse(s, NumberStyles.AllowThousands, CultureInfo.InvariantCulture);
            return new Row(t[0], t[1], N(t[^3]), N(t[^2]), t[^1]);
        }).ToList();
    }

    /// <summary>Uses another block's parameter as its own (a tie between two different blocks).</summary>
    private sealed class TiedTo : Block
    {
        public TiedTo(Parameter p) => Register("w", p);
        protected override Tensor Forward(Tensor x) => x;
    }

    [Fact]
    public void SummaryRowsCountOwnAndSharedParametersPerCall()
    {
        var reused = new Dense(8, 8);
        var net = new Sequential(new Dense(8, 4), reused, new Relu(), reused, new TiedTo(reused.Weight));
        var rows = Rows(net.Summary([2, 4]));
        Assert.Equal(
        [
            new Row("0", "Dense", 40, 0, "cpu"),
            new Row("1", "Dense", 72, 72, "cpu"),      // placed twice (the book's tied layer): all of it is shared
            new Row("2", "Relu", 0, 0, "-"),
            new Row("3", "Dense", 72, 72, "cpu"),      // a row per call, under the path of that use
            new Row("4", "TiedTo", 64, 64, "cpu"),
            new Row("(root)", "Sequential", 0, 0, "-"),
        ], rows);
        Assert.EndsWith("total: 112 parameters (4 tensors), input [2, 4]\n", net.Summary([2, 4]));
        // Nothing is recorded outside Summary: a later call leaves no rows behind for the next summary.
        net.Call(Tensor.Rand([1, 4]));
        Assert.Equal(6, Rows(net.Summary([1, 4])).Count);
    }
}
