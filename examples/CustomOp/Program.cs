// A custom elementwise op: Swish (SiLU), x·σ(x), written once as a struct with a scalar rule (compiled by ILGPU into the GPU
// kernels) and Vector256 and Vector128 rules (the CPU backend's loops: x64 with AVX2 runs the first, Arm64 the second), plus
// its gradient rule written with tensor ops. It runs on the
// CPU, on ILGPU's simulator (the exact GPU kernels) and on every GPU, and is checked against double-precision references:
// the values directly, the gradient by central differences.
using System.Runtime.Intrinsics;
using DeepSharp.Ops;

// d/dx x·σ(x) = σ(x) + x·σ(x)(1 − σ(x)) = y + σ(x)(1 − y), with y = x·σ(x).
UnaryGradient swishGradient = (x, y, g) => { var s = x.Sigmoid(); return g * (y + s * (1f - y)); };

double[] xs = Enumerable.Range(0, 41).Select(i => -10.0 + 0.5 * i).ToArray();   // 41 values: a tail past the 8-lane vectors
static double Swish(double x) => x / (1 + Math.Exp(-x));
double Loss(double[] x) => x.Select((v, i) => Swish(v) * Math.Cos(i)).Sum();       // a weighted sum: every element counts

var weights = xs.Select((_, i) => (float)Math.Cos(i)).ToArray();
var devices = new List<Device> { Device.Cpu, Device.IlgpuCpu };
devices.AddRange(Device.TryAllGpus().Where(d => d != Device.Cpu));
foreach (var device in devices)
{
    var x = Tensor.FromArray(xs.Select(v => (float)v).ToArray(), device: device).RequiresGradient();
    var y = x.Map(new SwishOp(), swishGradient, name: "Swish");
    (y * Tensor.FromArray(weights, device: device)).Sum().Backward();
    var values = y.ToArray<float>();
    var grads = x.Grad!.ToArray<float>();

    double valueError = xs.Select((v, i) => Math.Abs(values[i] - Swish(v)) / (1 + Math.Abs(Swish(v)))).Max(); // relative
    double gradError = xs.Select((_, i) =>
    {
        const double h = 1e-5;
        var plus = (double[])xs.Clone(); plus[i] += h;
        var minus = (double[])xs.Clone(); minus[i] -= h;
        return Math.Abs(grads[i] - (Loss(plus) - Loss(minus)) / (2 * h));
    }).Max();
    Console.WriteLine($"{device,-10} {y.GradFn}: swish(0.5) = {values[21]:F6}, largest error {valueError:E1}; " +
                      $"gradient's largest error against central differences {gradError:E1}");
    Expect.That(valueError < 2e-5, $"{device}: swish matches the reference");  // GPUs' exp is approximate
    Expect.That(gradError < 1e-4, $"{device}: the gradient matches central differences");
}
return Expect.ExitCode();

/// <summary>Swish (SiLU): x·σ(x). Public, with no reference-type fields: GPU kernels are compiled from it.</summary>
public struct SwishOp : IUnaryOp
{
    public float Apply(float x) => x / (1f + MathF.Exp(-x));
    public double Apply(double x) => x / (1.0 + Math.Exp(-x)); // float64 tensors
    public Vector256<float> Apply(Vector256<float> x) => x / (Vector256<float>.One + Vector256.Exp(-x));
    public Vector128<float> Apply(Vector128<float> x) => x / (Vector128<float>.One + Vector128.Exp(-x));
}
