using System.Runtime.Intrinsics;
using DeepSharp;
using DeepSharp.Ops;

namespace DeepSharp.Tests;

/// <summary>Op structs of this test assembly, as a user writes them (public: GPU kernels are compiled from them).</summary>
public static class TestOps
{
    /// <summary>softplus(x) = log(1 + e^x), computed as max(x, 0) + log(1 + e^−|x|); its derivative is σ(x).</summary>
    public struct Softplus : IUnaryOp
    {
        public float Apply(float x) => MathF.Max(x, 0f) + MathF.Log(1f + MathF.Exp(-MathF.Abs(x)));
        public double Apply(double x) => Math.Max(x, 0.0) + Math.Log(1.0 + Math.Exp(-Math.Abs(x)));
        public Vector256<float> Apply(Vector256<float> x) =>
            Vector256.Max(x, Vector256<float>.Zero) + Vector256.Log(Vector256<float>.One + Vector256.Exp(-Vector256.Abs(x)));
        public Vector128<float> Apply(Vector128<float> x) =>
            Vector128.Max(x, Vector128<float>.Zero) + Vector128.Log(Vector128<float>.One + Vector128.Exp(-Vector128.Abs(x)));
    }

    /// <summary>a·b + Bias·a: a binary op with a parameter (a field).</summary>
    public struct MulAddScaled : IBinaryOp
    {
        public float Bias;
        public float Apply(float a, float b) => a * b + Bias * a;
        public double Apply(double a, double b) => a * b + Bias * a;
        public Vector256<float> Apply(Vector256<float> a, Vector256<float> b) => a * b + Vector256.Create(Bias) * a;
        public Vector128<float> Apply(Vector128<float> a, Vector128<float> b) => a * b + Vector128.Create(Bias) * a;
    }

    public static Tensor SoftplusOf(Tensor x) => x.Map(new Softplus(), (x, _, g) => g * x.Sigmoid());

    public static Tensor MulAddScaledOf(Tensor a, Tensor b, float bias) =>
        Tensor.Map(a, b, new MulAddScaled { Bias = bias }, (a, b, _, g) => (g * (b + bias), g * a));

    internal struct Hidden : IUnaryOp
    {
        public float Apply(float x) => x;
        public double Apply(double x) => x;
        public Vector256<float> Apply(Vector256<float> x) => x;
        public Vector128<float> Apply(Vector128<float> x) => x;
    }

    public struct Holding : IUnaryOp
    {
        public string Label;
        public readonly float Apply(float x) => x;
        public readonly double Apply(double x) => x;
        public readonly Vector256<float> Apply(Vector256<float> x) => x;
        public readonly Vector128<float> Apply(Vector128<float> x) => x;
    }
}

/// <summary>The extension point: a user's op struct and gradient rule run on every device like the built-in ops (the
/// gradients are checked by finite differences in <see cref="GradCheckTests"/>).</summary>
public class CustomOpTests
{
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void AUsersOpRunsOnEveryDeviceAndMatchesAReference(string device)
    {
        var d = TestDevices.Use(device);
        var values = Ref.Random(37, 5, -30f, 30f); // a tail past the vectors, and |x| where e^x over- or underflows
        var x = Tensor.FromArray(values, device: d).RequiresGradient();
        var y = TestOps.SoftplusOf(x);
        Assert.Equal("Softplus", y.GradFn);
        Ref.Close(values.Select(v => Math.Max(v, 0) + Math.Log(1 + Math.Exp(-Math.Abs(v)))).ToArray(), y.ToArray<float>(),
            TestDevices.Tol(d), "softplus");
        y.Sum().Backward();
        Ref.Close(values.Select(v => 1 / (1 + Math.Exp(-v))).ToArray(), x.Grad!.ToArray<float>(), TestDevices.Tol(d), "σ");

        // Through a strided view, broadcast, with a parameter; the gradients are summed back to each input's shape.
        var a = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, [3, 2], d).RequiresGradient();
        var b = Tensor.FromArray(new float[] { 10, 20, 30 }, device: d).RequiresGradient();
        var z = TestOps.MulAddScaledOf(a.T, b, 0.5f);       // [2, 3]: a.T[i, j]·b[j] + a.T[i, j]/2
        Assert.Equal([2, 3], z.Shape);
        Assert.Equal(new float[] { 10.5f, 61.5f, 152.5f, 21f, 82f, 183f }, z.ToArray<float>());
        z.Sum().Backward();
        Assert.Equal(new float[] { 10.5f, 10.5f, 20.5f, 20.5f, 30.5f, 30.5f }, a.Grad!.ToArray<float>());
        Assert.Equal(new float[] { 3f, 7f, 11f }, b.Grad!.ToArray<float>());
    }

    [Fact]
    public void WithoutARuleTheResultIsAConstantAndTheNameIsTheCallers()
    {
        var x = Tensor.Ones(3).RequiresGradient();
        var y = x.Map(new TestOps.Softplus(), gradient: null);
        Assert.False(y.RequiresGrad);
        var named = x.Map(new TestOps.Softplus(), (x, _, g) => g * x.Sigmoid(), name: "MySoftplus");
        Assert.Equal("MySoftplus", named.GradFn);
        using (Autograd.NoGrad()) Assert.Null(x.Map(new TestOps.Softplus(), (_, _, g) => g).GradFn);
    }

    [Fact]
    public void OpsThatGpuKernelsCannotRunAreRefusedOnEveryDevice()
    {
        var x = Tensor.Ones(2);
        var hidden = Assert.Throws<NotSupportedException>(() => x.Map(new TestOps.Hidden(), null));
        Assert.Contains("Hidden", hidden.Message);
        Assert.Contains("ILGPURuntime", hidden.Message);
        var holding = Assert.Throws<NotSupportedException>(() => x.Map(new TestOps.Holding(), null));
        Assert.Contains("references", holding.Message);
    }

    [Fact]
    public void ArgumentsAreCheckedAsForTheBuiltInOps()
    {
        var op = new TestOps.MulAddScaled();
        Assert.Equal("a", Assert.Throws<ArgumentNullException>(() => Tensor.Map(null!, Tensor.Ones(2), op, null)).ParamName);
        Assert.Throws<ArgumentException>(() => Tensor.Map(Tensor.Ones(2), Tensor.Ones(3), op, null));
        Assert.Throws<NotSupportedException>(() => Tensor.Arange(3, DType.Int64).Map(new TestOps.Softplus(), null));
        if (Device.IlgpuCpu.IsAvailable)
            Assert.Throws<DeviceMismatchException>(() => Tensor.Map(Tensor.Ones(2), Tensor.Ones([2], device: Device.IlgpuCpu), op, null));
    }
}
