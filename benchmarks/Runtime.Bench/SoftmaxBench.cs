using DeepSharp;
using static Harness;

/// <summary>
/// The fused softmax and log-softmax (Functional.Softmax/LogSoftmax) against the composite they replaced (max, subtract,
/// exp, sum, divide or log, each recorded by autograd), forward and backward, on the CPU. The two sides alternate round by
/// round, so a noisy machine slows both alike; the table gives the median of the rounds' medians and, in parentheses, the
/// best round's.
/// </summary>
static class SoftmaxBench
{
    public static void Run()
    {
        Console.WriteLine("\n## Softmax / log-softmax on cpu, last axis, forward + backward, µs per call — " +
            "median of 7 alternating rounds (best)");
        Console.WriteLine("| shape | op | composite | fused | speed-up | forward only: composite | fused |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        foreach (var shape in new[] { new[] { 256, 1000 }, [512, 128] })
            foreach (bool log in new[] { false, true })
            {
                var x = Tensor.Randn(shape, generator: new Generator(1)).RequiresGradient();
                var g = Tensor.Randn(shape, generator: new Generator(2));
                Action composite = () => Step(x, g, log ? CompositeLogSoftmax : CompositeSoftmax);
                Action fused = () => Step(x, g, log ? t => Functional.LogSoftmax(t) : t => Functional.Softmax(t));
                var xi = x.Detach();
                Action compositeForward = () => Forward(xi, log ? CompositeLogSoftmax : CompositeSoftmax);
                Action fusedForward = () => Forward(xi, log ? t => Functional.LogSoftmax(t) : t => Functional.Softmax(t));
                var (c, f, cf, ff) = (new List<double>(), new List<double>(), new List<double>(), new List<double>());
                for (int round = 0; round < 7; round++)
                {
                    c.Add(Median(51, composite) * 1e6);
                    f.Add(Median(51, fused) * 1e6);
                    cf.Add(Median(51, compositeForward) * 1e6);
                    ff.Add(Median(51, fusedForward) * 1e6);
                }
                double cm = Mid(c), fm = Mid(f);
                Console.WriteLine($"| [{shape[0]}, {shape[1]}] | {(log ? "log-softmax" : "softmax")} | {cm:F0} ({c.Min():F0}) | " +
                    $"{fm:F0} ({f.Min():F0}) | {cm / fm:F1}× | {Mid(cf):F0} ({cf.Min():F0}) | {Mid(ff):F0} ({ff.Min():F0}) |");
            }
    }

    private static double Mid(List<double> v) => v.Order().ElementAt(v.Count / 2);

    private static void Forward(Tensor x, Func<Tensor, Tensor> f) => TensorScope.Composite(x, f).Dispose();

    private static void Step(Tensor x, Tensor g, Func<Tensor, Tensor> f)
    {
        using var scope = TensorScope.Begin();
        x.Grad = null;
        f(x).Backward(g);
    }

    // The composites Functional used before the fused kernels (git history: src/Runtime/Functional.cs).
    private static Tensor CompositeSoftmax(Tensor x)
    {
        var e = (x - x.Max(-1, keepDim: true).Detach()).Exp();
        return e / e.Sum(-1, keepDim: true);
    }

    private static Tensor CompositeLogSoftmax(Tensor x)
    {
        var shifted = x - x.Max(-1, keepDim: true).Detach();
        return shifted - shifted.Exp().Sum(-1, keepDim: true).Log();
    }
}
