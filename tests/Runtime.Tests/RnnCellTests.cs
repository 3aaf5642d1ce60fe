namespace DeepSharp.Tests;

/// <summary>
/// The fused LSTM and GRU cells (<see cref="Functional.LstmCell"/>, <see cref="Functional.GruCell"/>) on every device: the
/// outputs against PyTorch's equations in double precision, and every input's gradient against central differences of that
/// double reference; inputs given as views with offsets and strides; the error messages.
/// </summary>
public class RnnCellTests
{
    private const int B = 3, H = 5;

    private static double Sig(double x) => 1 / (1 + Math.Exp(-x));

    /// <summary>PyTorch's LSTM cell in double: (h, c) per (row, unit).</summary>
    private static (double[] H, double[] C) LstmRef(double[] g, double[] cp)
    {
        var h = new double[B * H]; var c = new double[B * H];
        for (int b = 0; b < B; b++)
            for (int u = 0; u < H; u++)
            {
                int t = b * H + u, g0 = b * 4 * H + u;
                c[t] = Sig(g[g0 + H]) * cp[t] + Sig(g[g0]) * Math.Tanh(g[g0 + 2 * H]);
                h[t] = Sig(g[g0 + 3 * H]) * Math.Tanh(c[t]);
            }
        return (h, c);
    }

    /// <summary>PyTorch's GRU cell in double.</summary>
    private static double[] GruRef(double[] x, double[] hg, double[] hp)
    {
        var y = new double[B * H];
        for (int b = 0; b < B; b++)
            for (int u = 0; u < H; u++)
            {
                int t = b * H + u, g0 = b * 3 * H + u;
                double r = Sig(x[g0] + hg[g0]), z = Sig(x[g0 + H] + hg[g0 + H]), n = Math.Tanh(x[g0 + 2 * H] + r * hg[g0 + 2 * H]);
                y[t] = (1 - z) * n + z * hp[t];
            }
        return y;
    }

    /// <summary>d loss/d inputs[i] by central differences of a double loss.</summary>
    private static double[] Numeric(double[][] inputs, int i, Func<double[][], double> loss)
    {
        var grad = new double[inputs[i].Length];
        for (int j = 0; j < grad.Length; j++)
        {
            double keep = inputs[i][j];
            inputs[i][j] = keep + 1e-6; double up = loss(inputs);
            inputs[i][j] = keep - 1e-6; double down = loss(inputs);
            inputs[i][j] = keep;
            grad[j] = (up - down) / 2e-6;
        }
        return grad;
    }

    private static double Dot(double[] a, float[] w) => a.Select((v, i) => v * w[i]).Sum();

    /// <summary>A [rows, cols] leaf that is a strided view (a column slice of a wider tensor), and its values.</summary>
    private static (Tensor View, Tensor Leaf, double[] Values) Strided(int rows, int cols, int seed, Device d)
    {
        var wide = Ref.Random(rows * (cols + 2), seed);
        var leaf = Tensor.FromArray(wide, [rows, cols + 2], d).RequiresGradient();
        var values = new double[rows * cols];
        for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) values[r * cols + c] = wide[r * (cols + 2) + 1 + c];
        return (leaf.Slice(1, 1, cols + 1), leaf, values);
    }

    /// <summary>The gradient of the strided view's elements, read from its leaf's.</summary>
    private static float[] ViewGrad(Tensor leaf, int rows, int cols)
    {
        var g = leaf.Grad!.ToArray<float>();
        var y = new float[rows * cols];
        for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) y[r * cols + c] = g[r * (cols + 2) + 1 + c];
        return y;
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void LstmCellMatchesReferenceWithGradients(string device)
    {
        var d = TestDevices.Use(device);
        var (gates, gLeaf, g) = Strided(B, 4 * H, 1, d);
        // cPrev: the second row block of a [2, B, H] tensor (contiguous, from an offset).
        var both = Tensor.FromArray(Ref.Random(2 * B * H, 2), [2, B, H], d).RequiresGradient();
        var cp = both.ToArray<float>().Skip(B * H).Select(v => (double)v).ToArray();
        var (h, c) = Functional.LstmCell(gates, both[1]);
        var (hr, cr) = LstmRef(g, cp);
        double tol = TestDevices.Tol(d, 1e-5) * 10;
        Ref.Close(hr, h.ToArray<float>(), tol, "h");
        Ref.Close(cr, c.ToArray<float>(), tol, "c");

        float[] wh = Ref.Random(B * H, 3), wc = Ref.Random(B * H, 4);
        ((h * Tensor.FromArray(wh, [B, H], d)).Sum() + (c * Tensor.FromArray(wc, [B, H], d)).Sum()).Backward();
        double Loss(double[][] x) { var (a, b) = LstmRef(x[0], x[1]); return Dot(a, wh) + Dot(b, wc); }
        double[][] inputs = [g, cp];
        Ref.Close(Numeric(inputs, 0, Loss), ViewGrad(gLeaf, B, 4 * H), tol * 10, "dGates");
        var dBoth = both.Grad!.ToArray<float>();
        Ref.Close(Numeric(inputs, 1, Loss), dBoth[(B * H)..], tol * 10, "dcPrev");
        Assert.All(dBoth[..(B * H)], v => Assert.Equal(0f, v));
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void LstmCellGradientFromHAlone(string device)
    {
        var d = TestDevices.Use(device);
        var g = Ref.Random(B * 4 * H, 5); var cp = Ref.Random(B * H, 6);
        var gates = Tensor.FromArray(g, [B, 4 * H], d).RequiresGradient();
        var (h, _) = Functional.LstmCell(gates, Tensor.FromArray(cp, [B, H], d));
        h.Sum().Backward();
        double Loss(double[][] x) => LstmRef(x[0], x[1]).H.Sum();
        double[][] inputs = [g.Select(v => (double)v).ToArray(), cp.Select(v => (double)v).ToArray()];
        Ref.Close(Numeric(inputs, 0, Loss), gates.Grad!.ToArray<float>(), TestDevices.Tol(d, 1e-5) * 100, "dGates");
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void GruCellMatchesReferenceWithGradients(string device)
    {
        var d = TestDevices.Use(device);
        var (xg, xLeaf, x) = Strided(B, 3 * H, 7, d);
        var hgv = Ref.Random(B * 3 * H, 8); var hpv = Ref.Random(B * H, 9);
        var hg = Tensor.FromArray(hgv, [B, 3 * H], d).RequiresGradient();
        var hp = Tensor.FromArray(hpv, [H, B], d).RequiresGradient(); // used transposed: a strided [B, H]
        double[] hgd = hgv.Select(v => (double)v).ToArray(), hpd = new double[B * H];
        for (int b = 0; b < B; b++) for (int u = 0; u < H; u++) hpd[b * H + u] = hpv[u * B + b];
        var y = Functional.GruCell(xg, hg, hp.T);
        double tol = TestDevices.Tol(d, 1e-5) * 10;
        Ref.Close(GruRef(x, hgd, hpd), y.ToArray<float>(), tol, "h");

        float[] w = Ref.Random(B * H, 10);
        (y * Tensor.FromArray(w, [B, H], d)).Sum().Backward();
        double Loss(double[][] a) => Dot(GruRef(a[0], a[1], a[2]), w);
        double[][] inputs = [x, hgd, hpd];
        Ref.Close(Numeric(inputs, 0, Loss), ViewGrad(xLeaf, B, 3 * H), tol * 10, "dxGates");
        Ref.Close(Numeric(inputs, 1, Loss), hg.Grad!.ToArray<float>(), tol * 10, "dhGates");
        var dhp = hp.Grad!.ToArray<float>(); // [H, B]
        var dhpRows = new float[B * H];
        for (int b = 0; b < B; b++) for (int u = 0; u < H; u++) dhpRows[b * H + u] = dhp[u * B + b];
        Ref.Close(Numeric(inputs, 2, Loss), dhpRows, tol * 10, "dhPrev");
    }

    [Fact]
    public void WrongShapesNameTheArgumentAndShapes()
    {
        var e = Assert.Throws<ArgumentException>(() => Functional.LstmCell(Tensor.Zeros([2, 10]), Tensor.Zeros([2, 3])));
        Assert.Contains("gates", e.Message); Assert.Contains("[2, 12]", e.Message); Assert.Contains("[2, 10]", e.Message);
        e = Assert.Throws<ArgumentException>(() => Functional.GruCell(Tensor.Zeros([2, 9]), Tensor.Zeros([2, 6]), Tensor.Zeros([2, 3])));
        Assert.Contains("hGates", e.Message); Assert.Contains("[2, 6]", e.Message);
        e = Assert.Throws<ArgumentException>(() => Functional.LstmCell(Tensor.Zeros([2, 12]), Tensor.Zeros([6])));
        Assert.Contains("cPrev", e.Message);
        Assert.Throws<ArgumentNullException>(() => Functional.GruCell(null!, Tensor.Zeros([2, 6]), Tensor.Zeros([2, 3])));
    }
}
