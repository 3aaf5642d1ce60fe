using System.Reflection;
using System.Runtime.Intrinsics;
using DeepSharp.Backends.Cpu;
using DeepSharp.Ops;

namespace DeepSharp.Tests;

/// <summary>The CPU backend's vector widths a test can force on this machine.</summary>
public static class CpuVectorWidths
{
    /// <summary>128 always (x64 and Arm64 both accelerate it), 256 and 512 where the hardware has them.</summary>
    public static int[] Available =>
        new[] { 128, 256, 512 }.Where(Accelerated).ToArray();

    public static bool Accelerated(int bits) => bits switch
    {
        128 => Vector128.IsHardwareAccelerated,
        256 => Vector256.IsHardwareAccelerated,
        512 => Vector512.IsHardwareAccelerated,
        _ => false,
    };

    public static void SkipUnlessAccelerated(int bits)
    {
        if (!Accelerated(bits)) Assert.Skip($"This CPU does not accelerate {bits}-bit vectors: that path cannot run here.");
    }

    /// <summary>Runs <paramref name="body"/> with the CPU backend forced to <paramref name="bits"/>-bit vectors.</summary>
    public static T With<T>(int bits, Func<T> body)
    {
        int before = CpuBackend.VectorBits;
        CpuBackend.VectorBits = bits;
        try { return body(); }
        finally { CpuBackend.VectorBits = before; }
    }
}

/// <summary>
/// The Vector128 path (what Arm64 runs) forced on this machine against the Vector256 path: every built-in op's 4-lane rule
/// gives the same bits as its 8-lane rule, and whole tensor programs (elementwise with broadcasting, reductions, optimizer
/// steps, losses, products and convolutions) give the same results on both widths. Changes the process-wide width, so it
/// runs alone.
/// </summary>
[CollectionDefinition(nameof(CpuVectorWidthTests), DisableParallelization = true)]
[Collection(nameof(CpuVectorWidthTests))]
public class CpuVectorWidthTests
{
    /// <summary>Special values in every lane position: NaN, ±inf, ±0, subnormals, extremes, and ordinary numbers.</summary>
    private static readonly float[] Inputs =
    [
        float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, 1e-45f, -1e-40f, float.MaxValue,
        float.MinValue, 1f, -1f, 0.5f, -2.5f, 3f, 88.7f, -103f, 1e-7f, 20f, -20f, 0.1f, 7f, -7f, 1e30f, 2f,
    ];

    private static IEnumerable<Type> BuiltIn(Type op) => typeof(IUnaryOp).Assembly.GetTypes()
        .Where(t => t.IsValueType && !t.IsGenericTypeDefinition && op.IsAssignableFrom(t));

    public static TheoryData<string> UnaryOps()
    {
        var data = new TheoryData<string>();
        foreach (var t in BuiltIn(typeof(IUnaryOp))) data.Add(t.FullName!);
        // Binary ops with a constant operand (x + 2, 2 - x): each binary op on either side.
        foreach (var b in BuiltIn(typeof(IBinaryOp)))
        {
            data.Add(typeof(RightScalar<>).MakeGenericType(b).FullName!);
            data.Add(typeof(LeftScalar<>).MakeGenericType(b).FullName!);
        }
        return data;
    }

    public static TheoryData<string> BinaryOps() => new(BuiltIn(typeof(IBinaryOp)).Select(t => t.FullName!));

    [Theory, MemberData(nameof(UnaryOps))]
    public void EveryUnaryRuleGivesTheSameBitsOnFourAndEightLanes(string name)
    {
        var type = typeof(IUnaryOp).Assembly.GetType(name)!;
        object op = Activator.CreateInstance(type)!;
        foreach (var f in type.GetFields().Where(f => f.FieldType == typeof(float))) f.SetValue(op, 2f); // S, Value: a constant
        var v8 = Method(type, typeof(Vector256<float>), 1); var v4 = Method(type, typeof(Vector128<float>), 1);
        for (int start = 0; start + 8 <= Inputs.Length; start += 4)
        {
            var x = Inputs.AsSpan(start, 8);
            var wide = (Vector256<float>)v8.Invoke(op, [Vector256.Create<float>(x)])!;
            var lo = (Vector128<float>)v4.Invoke(op, [Vector128.Create<float>(x[..4])])!;
            var hi = (Vector128<float>)v4.Invoke(op, [Vector128.Create<float>(x[4..])])!;
            AssertSameBits(wide, lo, hi, $"{type.Name} on [{string.Join(", ", x.ToArray())}]");
        }
    }

    [Theory, MemberData(nameof(BinaryOps))]
    public void EveryBinaryRuleGivesTheSameBitsOnFourAndEightLanes(string name)
    {
        var type = typeof(IBinaryOp).Assembly.GetType(name)!;
        object op = Activator.CreateInstance(type)!;
        var v8 = Method(type, typeof(Vector256<float>), 2); var v4 = Method(type, typeof(Vector128<float>), 2);
        // Every pair of inputs: a runs through the values, b through the values rotated by each shift.
        for (int shift = 0; shift < Inputs.Length; shift++)
        {
            var b = Inputs.Skip(shift).Concat(Inputs.Take(shift)).ToArray();
            for (int start = 0; start + 8 <= Inputs.Length; start += 8)
            {
                var x = Inputs.AsSpan(start, 8); var y = b.AsSpan(start, 8);
                var wide = (Vector256<float>)v8.Invoke(op, [Vector256.Create<float>(x), Vector256.Create<float>(y)])!;
                var lo = (Vector128<float>)v4.Invoke(op, [Vector128.Create<float>(x[..4]), Vector128.Create<float>(y[..4])])!;
                var hi = (Vector128<float>)v4.Invoke(op, [Vector128.Create<float>(x[4..]), Vector128.Create<float>(y[4..])])!;
                AssertSameBits(wide, lo, hi, $"{type.Name} shift {shift} at {start}");
            }
        }
    }

    [Fact]
    public void ReduceAndUpdateRulesGiveTheSameBitsOnFourAndEightLanes()
    {
        var x = Vector256.Create<float>(Inputs.AsSpan(0, 8)); var y = Vector256.Create<float>(Inputs.AsSpan(8, 8));
        foreach (var type in BuiltIn(typeof(IReduceOp)))
        {
            object op = Activator.CreateInstance(type)!;
            var v8 = Method(type, typeof(Vector256<float>), 2, "Combine"); var v4 = Method(type, typeof(Vector128<float>), 2, "Combine");
            var wide = (Vector256<float>)v8.Invoke(op, [x, y])!;
            AssertSameBits(wide, (Vector128<float>)v4.Invoke(op, [x.GetLower(), y.GetLower()])!,
                (Vector128<float>)v4.Invoke(op, [x.GetUpper(), y.GetUpper()])!, type.Name);
        }
        var p = Vector256.Create(0.5f, -1f, 2f, 3f, -4f, 1e-3f, 7f, 0f); var g = Vector256.Create(0.1f, 0f, -2f, 5f, 1e-8f, -3f, 0.25f, 9f);
        var m = Vector256.Create(0.01f, -0.2f, 0.3f, 0f, 1f, -1f, 2f, 0.5f); var v = Vector256.Create(0.2f, 0f, 1f, 3f, 0f, 2f, 0.5f, 4f);
        var s = Vector256.Create(0.3f, 0.1f, 2f, 1f, 1e-3f, 0f, 0.25f, 5f);
        var adam = new AdamStep
        {
            Lr = 1e-3f, Beta1 = 0.9f, Beta2 = 0.999f, Eps = 1e-8f, WeightDecay = 1e-2f, Correction1 = 0.1f, Correction2 = 0.001f,
            Shrink = 1f - 1e-5f,
        };
        var sgd = new SgdStep { Lr = 0.1f, Momentum = 0.9f, WeightDecay = 1e-2f, Dampening = 0.25f, Buffer = MomentumBuffer.Update };
        var rms = new RmsPropStep { Lr = 1e-2f, Alpha = 0.9f, Eps = 1e-8f, WeightDecay = 1e-3f, Momentum = 0.5f };
        IUpdateOp[] steps =
        [
            new SgdStep { Lr = 0.1f, Momentum = 0.9f, WeightDecay = 1e-2f, Buffer = MomentumBuffer.Update },
            new SgdStep { Lr = 0.1f, Momentum = 0.9f, Buffer = MomentumBuffer.Start },
            sgd, sgd with { Dampening = 0f, Direction = SgdDirection.Nesterov }, sgd with { Momentum = 0f },
            adam, adam with { Variant = AdamVariant.Decoupled }, adam with { Variant = AdamVariant.AmsGrad },
            adam with { Variant = AdamVariant.Decoupled | AdamVariant.AmsGrad },
            rms, rms with { Variant = RmsVariant.Centered }, rms with { Momentum = 0f, Variant = RmsVariant.Centered },
            new AdagradStep { Clr = 0.05f, Eps = 1e-10f, WeightDecay = 0.1f },
            new EmaStep { Weight = 1f - 0.999f }, new EmaStep { Weight = 0.7f },
        ];
        foreach (var step in steps)
        {
            // Eight lanes, two halves of four, and the scalar rule lane by lane (what ILGPU runs) all give the same bits.
            var w = step.Apply(p, g, m, v, s);
            var lo = step.Apply(p.GetLower(), g.GetLower(), m.GetLower(), v.GetLower(), s.GetLower());
            var hi = step.Apply(p.GetUpper(), g.GetUpper(), m.GetUpper(), v.GetUpper(), s.GetUpper());
            var what = $"{step}";
            AssertSameBits(w.P, lo.P, hi.P, $"{what} parameter");
            AssertSameBits(w.M, lo.M, hi.M, $"{what} state 1");
            AssertSameBits(w.V, lo.V, hi.V, $"{what} state 2");
            AssertSameBits(w.W, lo.W, hi.W, $"{what} state 3");
            for (int l = 0; l < 8; l++)
            {
                var one = step.Apply(p[l], g[l], m[l], v[l], s[l]);
                foreach (var (vec, sc, name) in new[] { (w.P, one.P, "parameter"), (w.M, one.M, "state 1"), (w.V, one.V, "state 2"),
                    (w.W, one.W, "state 3") })
                    Assert.True(BitConverter.SingleToInt32Bits(vec[l]) == BitConverter.SingleToInt32Bits(sc)
                        || float.IsNaN(sc) && float.IsNaN(vec[l]), $"{what} {name}, lane {l}: {vec[l]} on vectors, {sc} scalar");
            }
        }
    }

    /// <summary>A tensor program over the paths the widths change: dense, broadcast and strided elementwise runs with
    /// tails, reductions along each axis, an optimizer step, the fused losses, products through each GEMM path (small,
    /// dot products, narrow, blocked, with a bias) and a convolution with its gradients.</summary>
    private static float[][] Program()
    {
        var a = Tensor.FromArray(Ref.Random(37 * 45, 1, -3f, 3f), [37, 45]).RequiresGradient();
        var row = Tensor.FromArray(Ref.Random(45, 2), [45]);
        var col = Tensor.FromArray(Ref.Random(37, 3), [37, 1]);
        var y = ((a * row - col).Relu() + a.Exp().Log() + a.Sigmoid() + (a / 3f).Tanh() + a.T.Abs().T).Sqrt();
        var sums = new[] { y.Sum(0), y.Sum(1), y.Max(0), y.Max(1), a.Sum(), a.T.Sum(1) };
        var products = new[]
        {
            a.MatMul(a.T),                                                  // K-contiguous operands: dot products
            a.MatMul(Tensor.FromArray(Ref.Random(45 * 13, 4), [45, 13])),  // a narrow B
            a.MatMul(Tensor.FromArray(Ref.Random(45 * 70, 5), [45, 70])),  // blocked
            Tensor.FromArray(Ref.Random(5 * 7, 6), [5, 7]).MatMul(Tensor.FromArray(Ref.Random(7 * 9, 7), [7, 9])), // small
            Functional.Linear(a, Tensor.FromArray(Ref.Random(20 * 45, 8), [20, 45]), Tensor.FromArray(Ref.Random(20, 9), [20])),
        };
        var labels = Tensor.FromArray(Enumerable.Range(0, 37).Select(i => (long)(i % 13)).ToArray(), [37]);
        var ce = Functional.CrossEntropy(products[1], labels);
        var bce = Functional.BinaryCrossEntropyWithLogits(a, a.Gt(0f));
        var img = Tensor.FromArray(Ref.Random(2 * 3 * 9 * 9, 10), [2, 3, 9, 9]).RequiresGradient();
        var kernel = Tensor.FromArray(Ref.Random(4 * 3 * 3 * 3, 11), [4, 3, 3, 3]).RequiresGradient();
        var conv = Functional.Conv2d(img, kernel, padding: 1);
        (y.Sum() + ce + bce + products.Select(p => p.Sum()).Aggregate((s, p) => s + p) * 1e-3f + conv.Square().Sum()).Backward();
        var weights = Tensor.FromArray(Ref.Random(1000, 12), [1000]).RequiresGradient();
        var opt = new DeepSharp.Optim.Adam([weights], lr: 1e-2f, weightDecay: 1e-3f);
        for (int i = 0; i < 3; i++) { opt.ZeroGrad(); (weights.Square() * weights.Sin()).Sum().Backward(); opt.Step(); }
        Tensor[] outputs = [y, .. sums, .. products, ce, bce, conv, a.Grad!, img.Grad!, kernel.Grad!, weights];
        return outputs.Select(t => t.ToArray<float>()).ToArray();
    }

    [Fact]
    public void WholeProgramsGiveTheSameResultsOnEveryWidth()
    {
        int[] widths = CpuVectorWidths.Available;
        var reference = CpuVectorWidths.With(widths.Max(), () => Program());
        foreach (int bits in widths)
        {
            var got = CpuVectorWidths.With(bits, () => Program());
            for (int t = 0; t < reference.Length; t++)
            {
                // Elementwise, reduction and update rules give the same bits on every width; products sum in a different
                // order on the dot-product paths, so they (and what follows from them) agree to rounding.
                Ref.Close(reference[t].Select(v => (double)v).ToArray(), got[t], 1e-5, $"output {t} with {bits}-bit vectors");
            }
        }
        var wide = CpuVectorWidths.With(256, () => Program());
        var narrow = CpuVectorWidths.With(128, () => Program());
        foreach (int t in new[] { 0, 1, 2, 3, 4, 5, 6 }) // elementwise and reductions: exactly
            Assert.True(wide[t].AsSpan().SequenceEqual(narrow[t]), $"output {t}: Vector128 and Vector256 differ");
    }

    [Fact]
    public void TheWidthComesFromTheHardwareOrANarrowerSetting()
    {
        int hardware = Vector512.IsHardwareAccelerated ? 512 : Vector256.IsHardwareAccelerated ? 256 : 128;
        Assert.Equal(hardware, CpuBackend.DefaultVectorBits(_ => null));
        Assert.Equal(128, CpuBackend.DefaultVectorBits(n => n == "DEEPSHARP_CPU_VECTOR_BITS" ? "128" : null));
        Assert.Equal(Math.Min(256, hardware), CpuBackend.DefaultVectorBits(n => n == "DEEPSHARP_CPU_VECTOR_BITS" ? " 256" : null));
        foreach (var other in new[] { "512", "1024", "64", "wide", "" })
            Assert.Equal(hardware, CpuBackend.DefaultVectorBits(n => n == "DEEPSHARP_CPU_VECTOR_BITS" ? other : null));
    }

    private static MethodInfo Method(Type type, Type vector, int arity, string name = "Apply") =>
        type.GetMethods().Single(m => m.Name == name && m.ReturnType == vector && m.GetParameters().Length == arity);

    private static void AssertSameBits(Vector256<float> wide, Vector128<float> lo, Vector128<float> hi, string what)
    {
        for (int l = 0; l < 8; l++)
        {
            float w = wide[l], n = l < 4 ? lo[l] : hi[l - 4];
            Assert.True(BitConverter.SingleToInt32Bits(w) == BitConverter.SingleToInt32Bits(n) || (float.IsNaN(w) && float.IsNaN(n)),
                $"{what}, lane {l}: {w} on 8 lanes, {n} on 4");
        }
    }

    /// <summary>Without Vector512 the blocked GEMM's tiles are 6 rows tall, so Winograd transforms its weights into plain
    /// blocks and packs them as any operand (with Vector512 they go straight into 8-row panels): both ways match.</summary>
    [Theory]
    [InlineData("winograd_odd")]
    [InlineData("winograd_tiny")]
    [InlineData("winograd2_small")]
    public void WinogradMatchesTheReferenceOn256BitVectors(string name)
    {
        CpuVectorWidths.SkipUnlessAccelerated(256);
        CpuVectorWidths.With(256, () => { ConvGeneralTests.Check("cpu", name); return 0; });
    }
}
