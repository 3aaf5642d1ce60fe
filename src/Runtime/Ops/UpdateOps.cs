using System.Numerics;
using System.Runtime.Intrinsics;
using H = System.Runtime.Intrinsics.Vector128<float>;
using V = System.Runtime.Intrinsics.Vector256<float>;

namespace DeepSharp.Ops;

/// <summary>One optimizer step for one element: new (parameter, state1, state2, state3) from (parameter, gradient, state1,
/// state2, state3). One fused kernel applies it to a whole parameter; a state the rule does not use aliases the gradient and
/// is returned unchanged.</summary>
internal interface IUpdateOp<T> where T : unmanaged
{
    /// <summary>The update rule on one element (the ILGPU kernels, generic over T, and the CPU's scalar loops).</summary>
    (T P, T M, T V, T W) Apply(T p, T g, T m, T v, T w);
}

/// <summary>An update rule on float32 (scalar and vector forms) and float64.</summary>
internal interface IUpdateOp : IUpdateOp<float>, IUpdateOp<double>
{
    /// <summary>The same rule on 8 lanes, operation for operation (same bits), for the managed CPU backend.</summary>
    (V P, V M, V V, V W) Apply(V p, V g, V m, V v, V w);
    /// <summary>The same rule on 4 lanes (the CPU backend without 256-bit vectors).</summary>
    (H P, H M, H V, H W) Apply(H p, H g, H m, H v, H w);
}

/// <summary>What an SGD step does with its momentum buffer.</summary>
internal enum MomentumBuffer
{
    /// <summary>buffer = momentum · buffer + (1 - dampening) · gradient.</summary>
    Update,
    /// <summary>buffer = gradient: the parameter's first step (PyTorch's rule).</summary>
    Start,
}

/// <summary>Which direction an SGD step with momentum takes.</summary>
internal enum SgdDirection
{
    /// <summary>The momentum buffer.</summary>
    Buffer,
    /// <summary>Nesterov: gradient + momentum · buffer.</summary>
    Nesterov,
}

/// <summary>SGD with optional momentum (dampening, Nesterov) and L2 weight decay (torch.optim.SGD); state m = momentum buffer.</summary>
internal struct SgdStep : IUpdateOp
{
    /// <summary>Hyper-parameters.</summary>
    public float Lr, Momentum, Dampening, WeightDecay;
    /// <summary>Whether the momentum buffer starts from this step's gradient or is updated (unused without momentum).</summary>
    public MomentumBuffer Buffer;
    /// <summary>Plain or Nesterov momentum.</summary>
    public SgdDirection Direction;

    /// <inheritdoc/>
    public readonly (float P, float M, float V, float W) Apply(float p, float g, float m, float v, float w)
    {
        float d = g + WeightDecay * p;
        if (Momentum != 0f)
        {
            m = Buffer == MomentumBuffer.Start ? d : Momentum * m + (1f - Dampening) * d;
            d = Direction == SgdDirection.Nesterov ? d + Momentum * m : m;
        }
        return (p - Lr * d, m, v, w);
    }

    /// <inheritdoc/>
    public readonly (double P, double M, double V, double W) Apply(double p, double g, double m, double v, double w)
    {
        double d = g + WeightDecay * p;
        if (Momentum != 0f)
        {
            m = Buffer == MomentumBuffer.Start ? d : Momentum * m + (1.0 - Dampening) * d;
            d = Direction == SgdDirection.Nesterov ? d + Momentum * m : m;
        }
        return (p - Lr * d, m, v, w);
    }

    /// <inheritdoc/>
    public readonly (V P, V M, V V, V W) Apply(V p, V g, V m, V v, V w)
    {
        V d = g + WeightDecay * p;
        if (Momentum != 0f)
        {
            m = Buffer == MomentumBuffer.Start ? d : Momentum * m + (1f - Dampening) * d;
            d = Direction == SgdDirection.Nesterov ? d + Momentum * m : m;
        }
        return (p - Lr * d, m, v, w);
    }

    /// <inheritdoc/>
    public readonly (H P, H M, H V, H W) Apply(H p, H g, H m, H v, H w)
    {
        H d = g + WeightDecay * p;
        if (Momentum != 0f)
        {
            m = Buffer == MomentumBuffer.Start ? d : Momentum * m + (1f - Dampening) * d;
            d = Direction == SgdDirection.Nesterov ? d + Momentum * m : m;
        }
        return (p - Lr * d, m, v, w);
    }
}

/// <summary>How an Adam step applies weight decay, and whether it keeps the running maximum of the second moment.</summary>
[Flags]
internal enum AdamVariant
{
    /// <summary>Adam: L2 weight decay added to the gradient.</summary>
    Adam = 0,
    /// <summary>AdamW: p ← p · (1 - lr · wd) before the step, no L2 term.</summary>
    Decoupled = 1,
    /// <summary>AMSGrad: the denominator uses the running maximum of the second moment (state w).</summary>
    AmsGrad = 2,
}

/// <summary>Adam and AdamW with bias correction, optionally AMSGrad (torch.optim.Adam / AdamW); states m = first moment,
/// v = second moment, w = its running maximum.</summary>
internal struct AdamStep : IUpdateOp
{
    /// <summary>Hyper-parameters.</summary>
    public float Lr, Beta1, Beta2, Eps, WeightDecay;
    /// <summary>1 - β1^t and 1 - β2^t for the current step t.</summary>
    public float Correction1, Correction2;
    /// <summary>1 - lr · wd (AdamW's decoupled shrink; unused by Adam).</summary>
    public float Shrink;
    /// <summary>The corrections and the shrink computed in double, for the float64 rule.</summary>
    public double Correction1D, Correction2D, ShrinkD;
    /// <summary>Adam or AdamW, with or without AMSGrad.</summary>
    public AdamVariant Variant;

    /// <inheritdoc/>
    public readonly (float P, float M, float V, float W) Apply(float p, float g, float m, float v, float w)
    {
        float d = g;
        if ((Variant & AdamVariant.Decoupled) != 0) p *= Shrink;
        else d = g + WeightDecay * p;
        m = Beta1 * m + (1f - Beta1) * d;
        v = Beta2 * v + (1f - Beta2) * d * d;
        float s = v;
        if ((Variant & AdamVariant.AmsGrad) != 0) { w = default(MaximumOp).Apply(w, v); s = w; }
        float step = Lr * (m / Correction1) / (MathF.Sqrt(s / Correction2) + Eps);
        return (p - step, m, v, w);
    }

    /// <inheritdoc/>
    public readonly (double P, double M, double V, double W) Apply(double p, double g, double m, double v, double w)
    {
        double d = g;
        if ((Variant & AdamVariant.Decoupled) != 0) p *= ShrinkD;
        else d = g + WeightDecay * p;
        m = Beta1 * m + (1.0 - Beta1) * d;
        v = Beta2 * v + (1.0 - Beta2) * d * d;
        double s = v;
        if ((Variant & AdamVariant.AmsGrad) != 0) { w = default(MaximumOp).Apply(w, v); s = w; }
        double step = Lr * (m / Correction1D) / (Math.Sqrt(s / Correction2D) + Eps);
        return (p - step, m, v, w);
    }

    /// <inheritdoc/>
    public readonly (V P, V M, V V, V W) Apply(V p, V g, V m, V v, V w)
    {
        V d = g;
        if ((Variant & AdamVariant.Decoupled) != 0) p *= Shrink;
        else d = g + WeightDecay * p;
        m = Beta1 * m + (1f - Beta1) * d;
        v = Beta2 * v + (1f - Beta2) * d * d;
        V s = v;
        if ((Variant & AdamVariant.AmsGrad) != 0) { w = default(MaximumOp).Apply(w, v); s = w; }
        V step = Lr * (m / Correction1) / (Vector256.Sqrt(s / Correction2) + Vector256.Create(Eps));
        return (p - step, m, v, w);
    }

    /// <inheritdoc/>
    public readonly (H P, H M, H V, H W) Apply(H p, H g, H m, H v, H w)
    {
        H d = g;
        if ((Variant & AdamVariant.Decoupled) != 0) p *= Shrink;
        else d = g + WeightDecay * p;
        m = Beta1 * m + (1f - Beta1) * d;
        v = Beta2 * v + (1f - Beta2) * d * d;
        H s = v;
        if ((Variant & AdamVariant.AmsGrad) != 0) { w = default(MaximumOp).Apply(w, v); s = w; }
        H step = Lr * (m / Correction1) / (Vector128.Sqrt(s / Correction2) + Vector128.Create(Eps));
        return (p - step, m, v, w);
    }
}

/// <summary>Whether RMSprop divides by the centred second moment (the running variance) or the plain one.</summary>
internal enum RmsVariant
{
    /// <summary>Divide by √E[g²] + ε.</summary>
    Plain,
    /// <summary>Divide by √(E[g²] - E[g]²) + ε (state w = E[g]).</summary>
    Centered,
}

/// <summary>RMSprop (torch.optim.RMSprop); states m = momentum buffer, v = square average, w = gradient average.</summary>
internal struct RmsPropStep : IUpdateOp
{
    /// <summary>Hyper-parameters.</summary>
    public float Lr, Alpha, Eps, WeightDecay, Momentum;
    /// <summary>Plain or centred.</summary>
    public RmsVariant Variant;

    /// <inheritdoc/>
    public readonly (float P, float M, float V, float W) Apply(float p, float g, float m, float v, float w)
    {
        float d = g + WeightDecay * p;
        v = Alpha * v + (1f - Alpha) * d * d;
        float s = v;
        if (Variant == RmsVariant.Centered) { w = Alpha * w + (1f - Alpha) * d; s = v - w * w; }
        float q = d / (MathF.Sqrt(s) + Eps);
        if (Momentum > 0f) { m = Momentum * m + q; q = m; }
        return (p - Lr * q, m, v, w);
    }

    /// <inheritdoc/>
    public readonly (double P, double M, double V, double W) Apply(double p, double g, double m, double v, double w)
    {
        double d = g + WeightDecay * p;
        v = Alpha * v + (1.0 - Alpha) * d * d;
        double s = v;
        if (Variant == RmsVariant.Centered) { w = Alpha * w + (1.0 - Alpha) * d; s = v - w * w; }
        double q = d / (Math.Sqrt(s) + Eps);
        if (Momentum > 0f) { m = Momentum * m + q; q = m; }
        return (p - Lr * q, m, v, w);
    }

    /// <inheritdoc/>
    public readonly (V P, V M, V V, V W) Apply(V p, V g, V m, V v, V w)
    {
        V d = g + WeightDecay * p;
        v = Alpha * v + (1f - Alpha) * d * d;
        V s = v;
        if (Variant == RmsVariant.Centered) { w = Alpha * w + (1f - Alpha) * d; s = v - w * w; }
        V q = d / (Vector256.Sqrt(s) + Vector256.Create(Eps));
        if (Momentum > 0f) { m = Momentum * m + q; q = m; }
        return (p - Lr * q, m, v, w);
    }

    /// <inheritdoc/>
    public readonly (H P, H M, H V, H W) Apply(H p, H g, H m, H v, H w)
    {
        H d = g + WeightDecay * p;
        v = Alpha * v + (1f - Alpha) * d * d;
        H s = v;
        if (Variant == RmsVariant.Centered) { w = Alpha * w + (1f - Alpha) * d; s = v - w * w; }
        H q = d / (Vector128.Sqrt(s) + Vector128.Create(Eps));
        if (Momentum > 0f) { m = Momentum * m + q; q = m; }
        return (p - Lr * q, m, v, w);
    }
}

/// <summary>Adagrad (torch.optim.Adagrad); state m = the running sum of squared gradients.</summary>
internal struct AdagradStep : IUpdateOp
{
    /// <summary>The decayed step size lr / (1 + (t - 1) · lr_decay), ε and the L2 weight decay.</summary>
    public float Clr, Eps, WeightDecay;
    /// <summary>The decayed step size in double, for the float64 rule.</summary>
    public double ClrD;

    /// <inheritdoc/>
    public readonly (float P, float M, float V, float W) Apply(float p, float g, float m, float v, float w)
    {
        float d = g + WeightDecay * p;
        m += d * d;
        return (p - Clr * (d / (MathF.Sqrt(m) + Eps)), m, v, w);
    }

    /// <inheritdoc/>
    public readonly (double P, double M, double V, double W) Apply(double p, double g, double m, double v, double w)
    {
        double d = g + WeightDecay * p;
        m += d * d;
        return (p - ClrD * (d / (Math.Sqrt(m) + Eps)), m, v, w);
    }

    /// <inheritdoc/>
    public readonly (V P, V M, V V, V W) Apply(V p, V g, V m, V v, V w)
    {
        V d = g + WeightDecay * p;
        m += d * d;
        return (p - Clr * (d / (Vector256.Sqrt(m) + Vector256.Create(Eps))), m, v, w);
    }

    /// <inheritdoc/>
    public readonly (H P, H M, H V, H W) Apply(H p, H g, H m, H v, H w)
    {
        H d = g + WeightDecay * p;
        m += d * d;
        return (p - Clr * (d / (Vector128.Sqrt(m) + Vector128.Create(Eps))), m, v, w);
    }
}

/// <summary>Which power a gradient norm sums (<see cref="GradNormTerm"/>).</summary>
internal enum GradNormKind
{
    /// <summary>x² (the 2-norm).</summary>
    Two,
    /// <summary>|x| (the 1-norm).</summary>
    One,
    /// <summary>|x|, combined by maximum (the ∞-norm).</summary>
    Inf,
    /// <summary>|x|^p.</summary>
    Power,
}

/// <summary>One element's term of a p-norm: x², |x|, or |x|^p; the ∞-norm takes |x| and a maximum instead of a sum.</summary>
internal static class GradNormTerm
{
    public static GradNormKind Kind(float p) =>
        p == 2f ? GradNormKind.Two : p == 1f ? GradNormKind.One : float.IsPositiveInfinity(p) ? GradNormKind.Inf : GradNormKind.Power;

    /// <summary>x's term: x², |x|^p or |x| (p as T: the kernels cannot convert a float to a generic T).</summary>
    public static T Of<T>(T x, GradNormKind kind, T p) where T : IFloatingPointIeee754<T> => kind switch
    {
        GradNormKind.Two => x * x,
        GradNormKind.Power => T.Pow(T.Abs(x), p),
        _ => T.Abs(x),
    };

    /// <summary>Folds a term into a partial: a sum, or for the ∞-norm a maximum (NaN wins, as torch.max).</summary>
    public static T Combine<T>(T acc, T term, GradNormKind kind) where T : IFloatingPointIeee754<T> =>
        kind != GradNormKind.Inf ? acc + term : T.IsNaN(acc) || acc > term ? acc : term;
}

/// <summary>An exponential moving average of a parameter (torch.optim.swa_utils' EMA: lerp(average, parameter, 1 - decay),
/// with torch.lerp's two forms); the "parameter" slot is the average and the "gradient" slot the parameter.</summary>
internal struct EmaStep : IUpdateOp
{
    /// <summary>1 - decay: the weight of the current parameter.</summary>
    public float Weight;

    /// <inheritdoc/>
    public readonly (float P, float M, float V, float W) Apply(float p, float g, float m, float v, float w) =>
        (Weight < 0.5f ? p + Weight * (g - p) : g - (g - p) * (1f - Weight), m, v, w);

    /// <inheritdoc/>
    public readonly (double P, double M, double V, double W) Apply(double p, double g, double m, double v, double w) =>
        (Weight < 0.5f ? p + Weight * (g - p) : g - (g - p) * (1.0 - Weight), m, v, w);

    /// <inheritdoc/>
    public readonly (V P, V M, V V, V W) Apply(V p, V g, V m, V v, V w) =>
        (Weight < 0.5f ? p + Weight * (g - p) : g - (g - p) * (1f - Weight), m, v, w);

    /// <inheritdoc/>
    public readonly (H P, H M, H V, H W) Apply(H p, H g, H m, H v, H w) =>
        (Weight < 0.5f ? p + Weight * (g - p) : g - (g - p) * (1f - Weight), m, v, w);
}
