using System.Runtime.Intrinsics;
using H = System.Runtime.Intrinsics.Vector128<float>;
using V = System.Runtime.Intrinsics.Vector256<float>;

namespace DeepSharp.Ops;

/// <summary>One optimizer step for one element: new (parameter, state1, state2) from (parameter, gradient, state1, state2).
/// One fused kernel applies it to a whole parameter.</summary>
internal interface IUpdateOp
{
    /// <summary>The update rule (used by the ILGPU kernel and by CPU tails).</summary>
    (float P, float M, float V) Apply(float p, float g, float m, float v);
    /// <summary>The same rule on 8 lanes, operation for operation (same bits), for the managed CPU backend.</summary>
    (V P, V M, V V) Apply(V p, V g, V m, V v);
    /// <summary>The same rule on 4 lanes (the CPU backend without 256-bit vectors).</summary>
    (H P, H M, H V) Apply(H p, H g, H m, H v);
}

/// <summary>What an SGD step does with its momentum buffer.</summary>
internal enum MomentumBuffer
{
    /// <summary>buffer = momentum · buffer + gradient.</summary>
    Update,
    /// <summary>buffer = gradient: the parameter's first step (PyTorch's rule).</summary>
    Start,
}

/// <summary>SGD with optional momentum and L2 weight decay (torch.optim.SGD, dampening 0, no Nesterov).</summary>
internal struct SgdStep : IUpdateOp
{
    /// <summary>Hyper-parameters.</summary>
    public float Lr, Momentum, WeightDecay;
    /// <summary>Whether the momentum buffer starts from this step's gradient or is updated (unused without momentum).</summary>
    public MomentumBuffer Buffer;

    /// <inheritdoc/>
    public readonly (float P, float M, float V) Apply(float p, float g, float m, float v)
    {
        float d = g + WeightDecay * p;
        if (Momentum != 0f) { m = Buffer == MomentumBuffer.Start ? d : Momentum * m + d; d = m; }
        return (p - Lr * d, m, v);
    }

    /// <inheritdoc/>
    public readonly (V P, V M, V V) Apply(V p, V g, V m, V v)
    {
        V d = g + WeightDecay * p;
        if (Momentum != 0f) { m = Buffer == MomentumBuffer.Start ? d : Momentum * m + d; d = m; }
        return (p - Lr * d, m, v);
    }

    /// <inheritdoc/>
    public readonly (H P, H M, H V) Apply(H p, H g, H m, H v)
    {
        H d = g + WeightDecay * p;
        if (Momentum != 0f) { m = Buffer == MomentumBuffer.Start ? d : Momentum * m + d; d = m; }
        return (p - Lr * d, m, v);
    }
}

/// <summary>Adam with bias correction and L2 weight decay (torch.optim.Adam, amsgrad off).</summary>
internal struct AdamStep : IUpdateOp
{
    /// <summary>Hyper-parameters.</summary>
    public float Lr, Beta1, Beta2, Eps, WeightDecay;
    /// <summary>1 - β1^t and 1 - β2^t for the current step t.</summary>
    public float Correction1, Correction2;

    /// <inheritdoc/>
    public readonly (float P, float M, float V) Apply(float p, float g, float m, float v)
    {
        float d = g + WeightDecay * p;
        m = Beta1 * m + (1f - Beta1) * d;
        v = Beta2 * v + (1f - Beta2) * d * d;
        float step = Lr * (m / Correction1) / (MathF.Sqrt(v / Correction2) + Eps);
        return (p - step, m, v);
    }

    /// <inheritdoc/>
    public readonly (V P, V M, V V) Apply(V p, V g, V m, V v)
    {
        V d = g + WeightDecay * p;
        m = Beta1 * m + (1f - Beta1) * d;
        v = Beta2 * v + (1f - Beta2) * d * d;
        V step = Lr * (m / Correction1) / (Vector256.Sqrt(v / Correction2) + Vector256.Create(Eps));
        return (p - step, m, v);
    }

    /// <inheritdoc/>
    public readonly (H P, H M, H V) Apply(H p, H g, H m, H v)
    {
        H d = g + WeightDecay * p;
        m = Beta1 * m + (1f - Beta1) * d;
        v = Beta2 * v + (1f - Beta2) * d * d;
        H step = Lr * (m / Correction1) / (Vector128.Sqrt(v / Correction2) + Vector128.Create(Eps));
        return (p - step, m, v);
    }
}
