namespace DeepSharp.Ops;

/// <summary>
/// The recurrent cells' element math, shared by the CPU loops and the ILGPU kernels so both compute the same thing. Gate
/// order as PyTorch's: LSTM (i, f, g, o), GRU (r, z, n); t is a unit's index (row·H + unit) into [B, H] tensors and
/// row·kH + unit the first gate of its row in [B, kH] ones.
/// </summary>
internal static class RnnMath
{
    /// <summary>σ(x) = 1/(1 + e^−x).</summary>
    public static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    /// <summary>c = σ(f)·cPrev + σ(i)·tanh(g).</summary>
    public static float LstmC(float gi, float gf, float gg, float cPrev) => Sigmoid(gf) * cPrev + Sigmoid(gi) * MathF.Tanh(gg);

    /// <summary>The LSTM cell's gradients for one unit: dc_total = dc + dh·σ(o)·(1 − tanh²c); dGi, dGf, dGg, dGo and dcPrev =
    /// dc_total·σ(f).</summary>
    public static LstmGrads LstmBackward(float gi, float gf, float gg, float go, float cPrev, float dh, float dc)
    {
        float i = Sigmoid(gi), f = Sigmoid(gf), g = MathF.Tanh(gg), o = Sigmoid(go);
        float tc = MathF.Tanh(f * cPrev + i * g);
        float dct = dc + dh * o * (1f - tc * tc);
        return new LstmGrads
        {
            I = dct * g * i * (1f - i),
            F = dct * cPrev * f * (1f - f),
            G = dct * i * (1f - g * g),
            O = dh * tc * o * (1f - o),
            CPrev = dct * f,
        };
    }

    /// <summary>h' = (1 − z)·n + z·h with r = σ(xr + hr), z = σ(xz + hz), n = tanh(xn + r·hn).</summary>
    public static float Gru(float xr, float xz, float xn, float hr, float hz, float hn, float hPrev)
    {
        float r = Sigmoid(xr + hr), z = Sigmoid(xz + hz), n = MathF.Tanh(xn + r * hn);
        return (1f - z) * n + z * hPrev;
    }

    /// <summary>The GRU cell's gradients for one unit: of the r and z pre-activations (shared by both projections), of xn,
    /// of hn (= dxn·r) and of hPrev (= dh·z).</summary>
    public static GruGrads GruBackward(float xr, float xz, float xn, float hr, float hz, float hn, float hPrev, float dh)
    {
        float r = Sigmoid(xr + hr), z = Sigmoid(xz + hz), n = MathF.Tanh(xn + r * hn);
        float dn = dh * (1f - z) * (1f - n * n);
        return new GruGrads
        {
            R = dn * hn * r * (1f - r),
            Z = dh * (hPrev - n) * z * (1f - z),
            XN = dn,
            HN = dn * r,
            HPrev = dh * z,
        };
    }
}

/// <summary>One unit's LSTM gradients (<see cref="RnnMath.LstmBackward"/>).</summary>
internal struct LstmGrads
{
    /// <summary>Of the gate pre-activations i, f, g, o and of the previous cell state.</summary>
    public float I, F, G, O, CPrev;
}

/// <summary>One unit's GRU gradients (<see cref="RnnMath.GruBackward"/>).</summary>
internal struct GruGrads
{
    /// <summary>Of the r and z pre-activations, of xn, of hn and of the previous hidden state.</summary>
    public float R, Z, XN, HN, HPrev;
}
