using DeepSharp.Tests;

namespace DeepSharp.Layers.Tests;

/// <summary>
/// <see cref="Lstm"/>, <see cref="Gru"/> and <see cref="Rnn"/> against a double-precision implementation of PyTorch's
/// equations (2 layers, T = 3, B = 2): the output and final states, and the gradients of every parameter, the input and
/// the initial states against central differences of that reference, on every device; then shapes (batchFirst,
/// bidirectional), PyTorch's parameter names and initialization bounds, and the error messages.
/// </summary>
public class RecurrentTests
{
    private const int T = 3, B = 2, In = 4, H = 3;

    public static readonly Dictionary<string, (string Mode, int Layers, bool Bidirectional)> Cases = new()
    {
        ["lstm_2_layers"] = ("lstm", 2, false),
        ["lstm_bidirectional"] = ("lstm", 2, true),
        ["gru_2_layers"] = ("gru", 2, false),
        ["gru_bidirectional"] = ("gru", 1, true),
        ["rnn_tanh_2_layers"] = ("tanh", 2, false),
        ["rnn_relu_bidirectional"] = ("relu", 2, true),
    };

    public static TheoryData<string, string> All()
    {
        var d = new TheoryData<string, string>();
        foreach (var dev in TestDevices.Names) foreach (var name in Cases.Keys) d.Add(dev, name);
        return d;
    }

    private static double Sig(double x) => 1 / (1 + Math.Exp(-x));

    /// <summary>PyTorch's stacked recurrence in double: x [T, B, In], h0 and c0 [L·D, B, H] → (output [T, B, D·H], hn, cn).</summary>
    private static (double[] Y, double[] HN, double[] CN) Reference(string mode, int layers, int dirs, Dictionary<string, double[]> p,
        double[] x, double[] h0, double[] c0)
    {
        int g = mode == "lstm" ? 4 : mode == "gru" ? 3 : 1, inSize = In;
        double[] hn = new double[layers * dirs * B * H], cn = new double[hn.Length];
        for (int l = 0; l < layers; l++)
        {
            var y = new double[T * B * dirs * H];
            for (int d = 0; d < dirs; d++)
            {
                string sfx = $"_l{l}{(d == 1 ? "_reverse" : "")}";
                double[] wi = p["weight_ih" + sfx], wh = p["weight_hh" + sfx], bi = p["bias_ih" + sfx], bh = p["bias_hh" + sfx];
                int s0 = (l * dirs + d) * B * H;
                var h = h0[s0..(s0 + B * H)]; var c = c0[s0..(s0 + B * H)];
                for (int s = 0; s < T; s++)
                {
                    int t = d == 1 ? T - 1 - s : s;
                    double[] nh = new double[B * H], nc = new double[B * H];
                    for (int b = 0; b < B; b++)
                    {
                        double XP(int row)
                        {
                            double a = bi[row];
                            for (int k = 0; k < inSize; k++) a += wi[row * inSize + k] * x[(t * B + b) * inSize + k];
                            return a;
                        }
                        double HP(int row)
                        {
                            double a = bh[row];
                            for (int k = 0; k < H; k++) a += wh[row * H + k] * h[b * H + k];
                            return a;
                        }
                        for (int u = 0; u < H; u++)
                        {
                            int i = b * H + u;
                            if (mode == "lstm")
                            {
                                double gi = XP(u) + HP(u), gf = XP(H + u) + HP(H + u), gg = XP(2 * H + u) + HP(2 * H + u);
                                double go = XP(3 * H + u) + HP(3 * H + u);
                                nc[i] = Sig(gf) * c[i] + Sig(gi) * Math.Tanh(gg);
                                nh[i] = Sig(go) * Math.Tanh(nc[i]);
                            }
                            else if (mode == "gru")
                            {
                                double r = Sig(XP(u) + HP(u)), z = Sig(XP(H + u) + HP(H + u));
                                double n = Math.Tanh(XP(2 * H + u) + r * HP(2 * H + u));
                                nh[i] = (1 - z) * n + z * h[i];
                            }
                            else nh[i] = mode == "relu" ? Math.Max(0, XP(u) + HP(u)) : Math.Tanh(XP(u) + HP(u));
                        }
                    }
                    (h, c) = (nh, nc);
                    for (int b = 0; b < B; b++) for (int u = 0; u < H; u++) y[(t * B + b) * dirs * H + d * H + u] = h[b * H + u];
                }
                h.CopyTo(hn, s0); c.CopyTo(cn, s0);
            }
            (x, inSize) = (y, dirs * H);
        }
        return (x, hn, cn);
    }

    private static Block Make(string mode, int layers, bool bidirectional) => mode switch
    {
        "lstm" => new Lstm(In, H, layers, bidirectional: bidirectional),
        "gru" => new Gru(In, H, layers, bidirectional: bidirectional),
        _ => new Rnn(In, H, layers, mode == "relu" ? RnnNonlinearity.Relu : RnnNonlinearity.Tanh, bidirectional: bidirectional),
    };

    private static (Tensor Y, Tensor HN, Tensor? CN) Run(Block net, Tensor x, Tensor h0, Tensor c0) => net switch
    {
        Lstm l => l.Call((x, (h0, c0))) is var (y, (h, c)) ? (y, h, c) : default,
        Gru g => g.Call((x, h0)) is var (y, h) ? (y, h, null) : default,
        Rnn r => r.Call((x, h0)) is var (y, h) ? (y, h, null) : default,
        _ => throw new ArgumentException(net.GetType().Name),
    };

    [Theory, MemberData(nameof(All))]
    public void MatchesPyTorchEquationsWithGradients(string device, string name)
    {
        var d = TestDevices.Use(device);
        var (mode, layers, bidirectional) = Cases[name];
        int dirs = bidirectional ? 2 : 1;
        Init.ManualSeed(7);
        var net = Make(mode, layers, bidirectional);
        net.Initialize();
        var p = net.NamedParameters().ToDictionary(e => e.Path, e => e.Parameter.Data.ToArray<float>().Select(v => (double)v).ToArray());
        net.To(d);
        float[] xv = Random(T * B * In, 1), h0v = Random(layers * dirs * B * H, 2), c0v = Random(h0v.Length, 3);
        var x = Tensor.FromArray(xv, [T, B, In], d).RequiresGradient();
        var h0 = Tensor.FromArray(h0v, [layers * dirs, B, H], d).RequiresGradient();
        var c0 = Tensor.FromArray(c0v, [layers * dirs, B, H], d).RequiresGradient();
        var (y, hn, cn) = Run(net, x, h0, c0);
        Assert.Equal([T, B, dirs * H], y.Shape);
        Assert.Equal([layers * dirs, B, H], hn.Shape);

        double[] xd = xv.Select(v => (double)v).ToArray(), h0d = h0v.Select(v => (double)v).ToArray();
        double[] c0d = c0v.Select(v => (double)v).ToArray();
        var (yr, hr, cr) = Reference(mode, layers, dirs, p, xd, h0d, c0d);
        double tol = d.Kind is DeviceKind.Cuda or DeviceKind.OpenCL ? 2e-3 : 2e-5;
        Ref.Close(yr, y.ToArray<float>(), tol, "output");
        Ref.Close(hr, hn.ToArray<float>(), tol, "hn");
        if (cn is not null) Ref.Close(cr, cn.ToArray<float>(), tol, "cn");

        float[] wy = Random(yr.Length, 4), wh = Random(hr.Length, 5), wc = Random(cr.Length, 6);
        var loss = (y * Tensor.FromArray(wy, y.Shape, d)).Sum() + (hn * Tensor.FromArray(wh, hn.Shape, d)).Sum();
        if (cn is not null) loss = loss + (cn * Tensor.FromArray(wc, cn.Shape, d)).Sum();
        loss.Backward();
        double Loss()
        {
            var (a, b, c) = Reference(mode, layers, dirs, p, xd, h0d, c0d);
            return Dot(a, wy) + Dot(b, wh) + (mode == "lstm" ? Dot(c, wc) : 0);
        }
        foreach (var (path, param) in net.NamedParameters())
            Ref.Close(Numeric(p[path], Loss), param.Grad!.ToArray<float>(), tol * 10, $"{name}: d {path}");
        Ref.Close(Numeric(xd, Loss), x.Grad!.ToArray<float>(), tol * 10, $"{name}: d input");
        Ref.Close(Numeric(h0d, Loss), h0.Grad!.ToArray<float>(), tol * 10, $"{name}: d h0");
        if (mode == "lstm") Ref.Close(Numeric(c0d, Loss), c0.Grad!.ToArray<float>(), tol * 10, $"{name}: d c0");
    }

    private static float[] Random(int n, int seed) => Ref.Random(n, seed, -1f, 1f);

    private static double Dot(double[] a, float[] w) => a.Select((v, i) => v * w[i]).Sum();

    private static double[] Numeric(double[] values, Func<double> loss)
    {
        var grad = new double[values.Length];
        for (int j = 0; j < values.Length; j++)
        {
            double keep = values[j];
            values[j] = keep + 1e-6; double up = loss();
            values[j] = keep - 1e-6; double down = loss();
            values[j] = keep;
            grad[j] = (up - down) / 2e-6;
        }
        return grad;
    }
}
