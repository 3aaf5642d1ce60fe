using DeepSharp.Tests;

namespace DeepSharp.Layers.Tests;

/// <summary>
/// PyTorch's transformer equations in double, sequence-first ([L, N, E] row-major), from a block's parameters by path:
/// multi-head attention (F.multi_head_attention_forward), layer norm, the feed-forward block, and the encoder and decoder
/// layers (post-norm and pre-norm). Masks are additive doubles: padding [N, S], attention [L, S]; causal masks j &gt; i.
/// </summary>
internal sealed class TransformerReference(Dictionary<string, double[]> p, int heads, int n)
{
    public static Dictionary<string, double[]> Parameters(Block b) =>
        b.NamedParameters().ToDictionary(x => x.Path, x => x.Parameter.Data.ToArray<float>().Select(v => (double)v).ToArray());

    public double[] P(string path) => p[path];

    public double[] Linear(double[] x, string prefix, int inF)
    {
        var w = p[prefix + "weight"];
        var b = p.GetValueOrDefault(prefix + "bias");
        int outF = w.Length / inF, rows = x.Length / inF;
        var y = new double[rows * outF];
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < outF; o++)
            {
                double a = b?[o] ?? 0;
                for (int i = 0; i < inF; i++) a += w[o * inF + i] * x[r * inF + i];
                y[r * outF + o] = a;
            }
        return y;
    }

    public double[] LayerNorm(double[] x, string prefix, int e, double eps = 1e-5)
    {
        var y = new double[x.Length];
        for (int r = 0; r < x.Length / e; r++)
        {
            var row = x.AsSpan(r * e, e).ToArray();
            double mean = row.Average(), var = row.Sum(v => (v - mean) * (v - mean)) / e;
            for (int i = 0; i < e; i++)
                y[r * e + i] = (row[i] - mean) / Math.Sqrt(var + eps) * p[prefix + "weight"][i]
                    + (p.GetValueOrDefault(prefix + "bias")?[i] ?? 0);
        }
        return y;
    }

    /// <summary>Self- or cross-attention: query [L, N, E], key and value [S, N, E] → [L, N, E] (in_proj_weight layout).</summary>
    public double[] Attention(string prefix, double[] q, double[] kv, int e, double[]? padding, double[]? mask, bool causal)
    {
        int l = q.Length / (n * e), s = kv.Length / (n * e), dh = e / heads;
        var w = p[prefix + "in_proj_weight"];
        var b = p.GetValueOrDefault(prefix + "in_proj_bias") ?? new double[3 * e];
        double Proj(double[] x, int row, int part, int o)
        {
            double a = b[part * e + o];
            for (int i = 0; i < e; i++) a += w[(part * e + o) * e + i] * x[row * e + i];
            return a;
        }
        var cat = new double[l * n * e];
        for (int bn = 0; bn < n; bn++)
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < l; i++)
                {
                    var sc = new double[s];
                    for (int j = 0; j < s; j++)
                    {
                        double dot = 0;
                        for (int d = 0; d < dh; d++) dot += Proj(q, i * n + bn, 0, h * dh + d) * Proj(kv, j * n + bn, 1, h * dh + d);
                        sc[j] = causal && j > i ? double.NegativeInfinity
                            : dot / Math.Sqrt(dh) + (padding?[bn * s + j] ?? 0) + (mask?[i * s + j] ?? 0);
                    }
                    double m = sc.Max();
                    if (double.IsNegativeInfinity(m)) continue;
                    double z = sc.Sum(t => Math.Exp(t - m));
                    for (int d = 0; d < dh; d++)
                    {
                        double acc = 0;
                        for (int j = 0; j < s; j++) acc += Math.Exp(sc[j] - m) / z * Proj(kv, j * n + bn, 2, h * dh + d);
                        cat[(i * n + bn) * e + h * dh + d] = acc;
                    }
                }
        return Linear(cat, prefix + "out_proj.", e);
    }

    public double[] FeedForward(string prefix, double[] x, int e, bool gelu)
    {
        var hid = Linear(x, prefix + "linear1.", e);
        hid = hid.Select(v => gelu ? 0.5 * v * (1 + Erf(v / Math.Sqrt(2))) : Math.Max(v, 0)).ToArray();
        return Linear(hid, prefix + "linear2.", hid.Length / (x.Length / e));
    }

    /// <summary>erf by the everywhere-positive series 2/√π·e^(−x²)·Σ 2ⁿx^(2n+1)/(2n+1)!! (±1 beyond 6).</summary>
    private static double Erf(double x)
    {
        if (Math.Abs(x) > 6) return Math.Sign(x);
        double term = x, sum = x;
        for (int k = 1; k < 200 && Math.Abs(term) > 1e-17 * Math.Abs(sum); k++) sum += term *= 2 * x * x / (2 * k + 1);
        return 2 / Math.Sqrt(Math.PI) * Math.Exp(-x * x) * sum;
    }

    private static double[] Add(double[] a, double[] b) => a.Zip(b, (x, y) => x + y).ToArray();

    public double[] Encoder(string prefix, double[] x, int e, bool normFirst, bool gelu, double[]? padding, double[]? mask, bool causal)
    {
        double[] Sa(double[] t) => Attention(prefix + "self_attn.", t, t, e, padding, mask, causal);
        if (normFirst)
        {
            x = Add(x, Sa(LayerNorm(x, prefix + "norm1.", e)));
            return Add(x, FeedForward(prefix, LayerNorm(x, prefix + "norm2.", e), e, gelu));
        }
        x = LayerNorm(Add(x, Sa(x)), prefix + "norm1.", e);
        return LayerNorm(Add(x, FeedForward(prefix, x, e, gelu)), prefix + "norm2.", e);
    }

    public double[] Decoder(string prefix, double[] x, double[] memory, int e, bool normFirst, bool gelu, double[]? tgtMask,
        bool tgtCausal, double[]? memoryPadding)
    {
        double[] Sa(double[] t) => Attention(prefix + "self_attn.", t, t, e, null, tgtMask, tgtCausal);
        double[] Ca(double[] t) => Attention(prefix + "multihead_attn.", t, memory, e, memoryPadding, null, false);
        if (normFirst)
        {
            x = Add(x, Sa(LayerNorm(x, prefix + "norm1.", e)));
            x = Add(x, Ca(LayerNorm(x, prefix + "norm2.", e)));
            return Add(x, FeedForward(prefix, LayerNorm(x, prefix + "norm3.", e), e, gelu));
        }
        x = LayerNorm(Add(x, Sa(x)), prefix + "norm1.", e);
        x = LayerNorm(Add(x, Ca(x)), prefix + "norm2.", e);
        return LayerNorm(Add(x, FeedForward(prefix, x, e, gelu)), prefix + "norm3.", e);
    }
}
