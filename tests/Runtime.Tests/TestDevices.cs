using DeepSharp;

namespace DeepSharp.Tests;

/// <summary>
/// The device fixture: every device test is a theory over these names. The managed CPU backend and the ILGPU CPU
/// simulator always run; CUDA rows skip with a reason on machines without an NVIDIA GPU (never pass vacuously).
/// </summary>
public static class TestDevices
{
    public static readonly string[] Names = ["cpu", "ilgpu-cpu", "cuda:0", "opencl:0"];
    public static TheoryData<string> All => new(Names);

    /// <summary>Only accelerators (kernel paths): the simulator and CUDA.</summary>
    public static TheoryData<string> Accelerators => new() { "ilgpu-cpu", "cuda:0", "opencl:0" };

    /// <summary>The device called <paramref name="name"/>; the test skips, with the reason, when it is absent, unless
    /// DEEPSHARP_REQUIRE_DEVICES (comma-separated names; CI sets "opencl:0") requires it: then the test fails.</summary>
    public static Device Use(string name)
    {
        var d = Device.Parse(name);
        if (d.IsAvailable) return d;
        var why = $"{name} is not available on this machine: {Device.Describe().ReplaceLineEndings(" ")}";
        if (Required.Contains(name)) Assert.Fail($"DEEPSHARP_REQUIRE_DEVICES requires {name}, but {why}");
        Assert.Skip(why);
        return d;
    }

    private static readonly string[] Required =
        (Environment.GetEnvironmentVariable("DEEPSHARP_REQUIRE_DEVICES") ?? "").Split(',',
            StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Tolerance for float32 results against a double reference: CUDA's and OpenCL's fast exp/tanh are approximate.</summary>
    public static double Tol(Device d, double cpu = 1e-5) => d.Kind is DeviceKind.Cuda or DeviceKind.OpenCL ? Math.Max(cpu, 2e-5) : cpu;
}

/// <summary>Assertions against double-precision references.</summary>
public static class Ref
{
    /// <summary>v's values as a differentiable view that starts 7 elements into a larger tensor on v's device (an input
    /// with a storage offset).</summary>
    public static Tensor ShiftedView(Tensor v) =>
        Tensor.Concat([Tensor.Zeros([7], DType.Float32, v.Device), v.Reshape(v.Count)], 0).Slice(0, 7, 7 + v.Count).Reshape(v.Shape);

    /// <summary>d loss / d inputs[i][j] for every element, by central differences of step 1e−6 (in double: a reference's
    /// gradients). The inputs are restored.</summary>
    public static double[][] CentralDifferences(double[][] inputs, Func<double[][], double> loss)
    {
        var grads = new double[inputs.Length][];
        for (int i = 0; i < inputs.Length; i++)
        {
            grads[i] = new double[inputs[i].Length];
            for (int j = 0; j < grads[i].Length; j++)
            {
                double keep = inputs[i][j];
                inputs[i][j] = keep + 1e-6; double up = loss(inputs);
                inputs[i][j] = keep - 1e-6; double down = loss(inputs);
                inputs[i][j] = keep;
                grads[i][j] = (up - down) / 2e-6;
            }
        }
        return grads;
    }

    public static void Close(double[] expected, float[] actual, double tol, string what = "")
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double e = (float)expected[i], a = actual[i]; // the reference rounded to float32 (overflow → inf)
            if (double.IsNaN(e)) { Assert.True(float.IsNaN(actual[i]), $"{what}[{i}]: expected NaN, got {a}"); continue; }
            if (double.IsInfinity(e)) { Assert.True(a == e, $"{what}[{i}]: expected {e}, got {a}"); continue; }
            Assert.True(Math.Abs(e - a) <= tol * (1 + Math.Abs(e)), $"{what}[{i}]: expected {e}, got {a} (tol {tol})");
        }
    }

    /// <summary>Each value within tol·(1 + the largest |expected|): for sums whose rounding follows the scale of the whole
    /// result rather than each value (Winograd's transforms).</summary>
    public static void CloseAtScale(double[] expected, float[] actual, double tol, string what = "")
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = 1 + expected.Select(Math.Abs).DefaultIfEmpty(0).Max();
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * scale,
                $"{what}[{i}]: expected {expected[i]}, got {actual[i]} (tol {tol} × {scale:G4})");
    }

    public static float[] Random(int n, int seed, float lo = -2f, float hi = 2f)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(lo + (hi - lo) * r.NextDouble())).ToArray();
    }

    /// <summary>Row-major strides for a shape.</summary>
    public static int[] Strides(int[] shape)
    {
        var s = new int[shape.Length];
        for (int d = shape.Length - 1, acc = 1; d >= 0; d--) { s[d] = acc; acc *= shape[d]; }
        return s;
    }

    /// <summary>Element of a row-major array of <paramref name="shape"/> at the broadcast position of multi-index idx.</summary>
    public static double At(float[] x, int[] shape, int[] idx)
    {
        int lead = idx.Length - shape.Length, off = 0;
        var st = Strides(shape);
        for (int d = 0; d < shape.Length; d++) off += (shape[d] == 1 ? 0 : idx[d + lead]) * st[d];
        return x[off];
    }

    /// <summary>All multi-indices of a shape in row-major order.</summary>
    public static IEnumerable<int[]> Indices(int[] shape)
    {
        int n = shape.Aggregate(1, (a, b) => a * b);
        for (int i = 0; i < n; i++)
        {
            var idx = new int[shape.Length];
            for (int d = shape.Length - 1, r = i; d >= 0; d--) { idx[d] = r % shape[d]; r /= shape[d]; }
            yield return idx;
        }
    }
}
