using DeepSharp.Tests;

namespace DeepSharp.Layers.Tests;

/// <summary>
/// Blocks that take and return several tensors (<see cref="Block{TInput, TOutput}"/>): the same registration, deferred
/// initialization, device handling, state dicts, printing and summaries as single-tensor blocks.
/// </summary>
public class MultiInputBlockTests
{
    /// <summary>x · σ(W·context + b): two inputs, a deferred child.</summary>
    private sealed class Gate : Block<(Tensor X, Tensor Context), Tensor>
    {
        private readonly Dense _gate;
        public Gate(int features) => _gate = Register("gate", new Dense(features));
        protected override Tensor Forward((Tensor X, Tensor Context) input) => input.X * _gate.Call(input.Context).Sigmoid();
    }

    /// <summary>A recurrent-style cell: (x, optional state) → (output, new state).</summary>
    private sealed class Cell : Block<(Tensor X, Tensor? State), (Tensor Y, Tensor State)>
    {
        private readonly Dense _in, _state;
        public Cell(int hidden)
        {
            _in = Register("in", new Dense(hidden));
            _state = Register("state", new Dense(hidden, hidden, bias: false));
            Hidden = hidden;
        }
        public int Hidden { get; }
        protected override (Tensor Y, Tensor State) Forward((Tensor X, Tensor? State) input)
        {
            var h = input.State ?? Tensor.Zeros([input.X.Shape[0], Hidden], DType.Float32, input.X.Device);
            var next = (_in.Call(input.X) + _state.Call(h)).Tanh();
            return (next * 2f, next);
        }
    }

    /// <summary>A record input with an optional mask.</summary>
    private sealed record Qkv(Tensor Query, Tensor Key, Tensor Value, Tensor? Mask = null);

    private sealed class Scores : Block<Qkv, Tensor>
    {
        protected override Tensor Forward(Qkv input)
        {
            var s = input.Query.MatMul(input.Key.T);
            if (input.Mask is { } m) s = s * m;
            return s.MatMul(input.Value);
        }
    }

    /// <summary>A single-tensor block that uses a two-input child: the chapter's style around the new form.</summary>
    private sealed class Gated : Block
    {
        private readonly Dense _context = new(5);
        private readonly Gate _gate;
        public Gated(int features)
        {
            Register("context", _context);
            _gate = Register("gate", new Gate(features));
        }
        protected override Tensor Forward(Tensor x) => _gate.Call((x, _context.Call(x)));
    }

    private static Tensor Rand(Device d, params int[] shape) => Tensor.Rand(shape, generator: new Generator(3)).To(d);

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void TwoInputBlockComputesLearnsAndSavesAsAnyBlock(string device)
    {
        var d = TestDevices.Use(device);
        var gate = new Gate(3);
        Assert.Throws<UninitializedParameterException>(() => gate.StateDict());
        var x = Rand(d, 2, 3);
        var context = Rand(d, 2, 5);
        var y = gate.Call((x, context));
        // Deferred initialization happened on the inputs' device, with the shape the context gave.
        var w = gate.NamedParameters().Single(p => p.Path == "gate.weight").Parameter;
        Assert.Equal(d, w.Data.Device);
        Assert.Equal(new[] { 3, 5 }, w.Shape);
        var b = gate.NamedParameters().Single(p => p.Path == "gate.bias").Parameter;
        // Against a double-precision reference.
        double[] xs = [.. x.ToArray<float>().Select(v => (double)v)], cs = [.. context.ToArray<float>().Select(v => (double)v)];
        double[] ws = [.. w.Data.ToArray<float>().Select(v => (double)v)], bs = [.. b.Data.ToArray<float>().Select(v => (double)v)];
        var expected = new double[6];
        for (int r = 0; r < 2; r++)
            for (int j = 0; j < 3; j++)
            {
                double z = bs[j];
                for (int k = 0; k < 5; k++) z += cs[r * 5 + k] * ws[j * 5 + k];
                expected[r * 3 + j] = xs[r * 3 + j] / (1 + Math.Exp(-z));
            }
        Ref.Close(expected, y.ToArray<float>(), 1e-5, "gate");
        // Gradients reach the child's parameters through the second input.
        y.Sum().Backward();
        Assert.NotNull(w.Grad);
        Assert.True(w.Grad!.Abs().Sum().Item() > 0);
        // State dict keys and printing as for any block.
        Assert.Equal(["gate.weight", "gate.bias"], gate.StateDict().Keys);
        Assert.Equal("Gate(\n  (gate): Dense(5 → 3)\n)", gate.ToString());
        // A second instance loads the first's state and computes the same.
        var copy = new Gate(3);
        copy.Materialize((x, context));
        copy.LoadStateDict(gate.StateDict());
        Assert.Equal(y.ToArray<float>(), copy.Call((x, context)).ToArray<float>());
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void OptionalStateAndTupleOutput(string device)
    {
        var d = TestDevices.Use(device);
        var cell = new Cell(4);
        var x = Rand(d, 3, 2);
        var (y1, h1) = cell.Call((x, null));
        var (y2, h2) = cell.Call((x, h1));
        Assert.Equal(new[] { 3, 4 }, h2.Shape);
        Ref.Close([.. h1.ToArray<float>().Select(v => 2.0 * v)], y1.ToArray<float>(), 1e-6, "y = 2h");
        Assert.NotEqual(h1.ToArray<float>(), h2.ToArray<float>());
        Assert.Equal(d, cell.Parameters().First().Data.Device);
        var summary = cell.Summary((x, null));
        Assert.Contains("([3, 4], [3, 4])", summary); // the cell's two outputs
        Assert.Contains("input [3, 2]", summary);     // the null state is skipped
        Assert.Contains("in ", summary);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void RecordInputFindsItsTensorsAndDevice(string device)
    {
        var d = TestDevices.Use(device);
        var q = Rand(d, 2, 4);
        var k = Rand(d, 3, 4);
        var v = Rand(d, 3, 5);
        var y = new Scores().Call(new Qkv(q, k, v));
        Assert.Equal(new[] { 2, 5 }, y.Shape);
        Assert.Equal(d, y.Device);
        var summary = new Scores().Summary(new Qkv(q, k, v, Tensor.Ones([2, 3], DType.Float32, d)));
        Assert.Contains("input ([2, 4], [3, 4], [3, 5], [2, 3])", summary);
    }

    [Fact]
    public void SingleTensorCallOnAMultiInputBlockSaysHowToCallIt()
    {
        Block gate = new Gate(3);
        var e = Assert.Throws<NotSupportedException>(() => gate.Call(Tensor.Ones([2, 3])));
        Assert.Contains("Gate takes (Tensor, Tensor) and returns Tensor", e.Message);
        Assert.Contains("Call((Tensor, Tensor))", e.Message);
        var cell = Assert.Throws<NotSupportedException>(() => ((Block)new Cell(2)).Call(Tensor.Ones([2, 3])));
        Assert.Contains("Cell takes (Tensor, Tensor) and returns (Tensor, Tensor)", cell.Message);
        Assert.Throws<ArgumentNullException>(() => new Scores().Call(null!));
    }

    [Fact]
    public void SequentialRefusesMultiInputBlocksAndKeepsSingleTensorOnes()
    {
        var e = Assert.Throws<ArgumentException>(() => new Sequential(new Dense(3), new Gate(3)));
        Assert.Contains("Gate", e.Message);
        Assert.Throws<ArgumentException>(() => new Sequential().Add("gate", new Gate(2)));
        var net = new Sequential(new Dense(4), new Gated(4));
        Assert.Equal(new[] { 2, 4 }, net.Call(Tensor.Ones([2, 3])).Shape);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void NestedInsideAChapterBlockEverythingStillWorks(string device)
    {
        var d = TestDevices.Use(device);
        var net = new Gated(3);
        var x = Rand(d, 2, 3);
        Assert.Equal(new[] { 2, 3 }, net.Call(x).Shape);
        Assert.Equal(["context.weight", "context.bias", "gate.gate.weight", "gate.gate.bias"], net.StateDict().Keys);
        Assert.All(net.Parameters(), p => Assert.Equal(d, p.Data.Device));
        var summary = net.Summary([2, 3], d);
        Assert.Contains("gate.gate", summary);
        Assert.Contains("Gate", summary);
        // Moving the whole model moves the multi-input child's parameters too.
        net.To(Device.Cpu);
        Assert.All(net.Parameters(), p => Assert.Equal(Device.Cpu, p.Data.Device));
    }

    private sealed class Unregistered : Block<(Tensor A, Tensor B), Tensor>
    {
        private readonly Dense _hidden = new(2); // never registered
        protected override Tensor Forward((Tensor A, Tensor B) input) => _hidden.Call(input.A + input.B);
    }

    [Fact]
    public void TheRegistrationCheckCoversMultiInputBlocks()
    {
        var e = Assert.Throws<UnregisteredStateException>(() => new Unregistered().Call((Tensor.Ones([1, 2]), Tensor.Ones([1, 2]))));
        Assert.Contains("_hidden", e.Message);
    }
}
