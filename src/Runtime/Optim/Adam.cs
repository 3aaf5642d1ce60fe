using DeepSharp.Ops;

namespace DeepSharp.Optim;

/// <summary>Adam with bias correction (Kingma &amp; Ba 2015, Algorithm 1; torch.optim.Adam): L2 weight decay added to the
/// gradient; with <c>amsgrad</c>, the denominator uses the running maximum of the second moment (Reddi et al. 2018).</summary>
public sealed class Adam : Optimizer
{
    /// <summary>Adam over a model's parameters (<c>new Adam(net.Parameters())</c>, deferred ones included) or tensors that
    /// require grad (<c>new Adam([w, b])</c>), as one group.</summary>
    /// <param name="parameters">What to update.</param>
    /// <param name="lr">Step size (≥ 0).</param>
    /// <param name="beta1">Decay of the first-moment average, in [0, 1).</param>
    /// <param name="beta2">Decay of the second-moment average, in [0, 1).</param>
    /// <param name="eps">Added to the denominator for stability (&gt; 0).</param>
    /// <param name="weightDecay">L2 penalty added to the gradient (≥ 0).</param>
    /// <param name="amsgrad">Divide by the running maximum of the second moment (a third state tensor).</param>
    /// <exception cref="ArgumentNullException"><paramref name="parameters"/> or one of its items is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A hyper-parameter is out of range.</exception>
    /// <exception cref="ArgumentException">A tensor is not a float32 leaf that requires grad.</exception>
    public Adam(IEnumerable<IParameter> parameters, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f,
        float weightDecay = 0f, bool amsgrad = false)
        : this([ParamGroup.Whole(parameters)], lr, beta1, beta2, eps, weightDecay, amsgrad) { }

    /// <summary>Adam over parameter groups, each with its own hyper-parameters (those a group leaves unset come from these
    /// arguments).</summary>
    /// <param name="groups">The parameter groups (a parameter may belong to one group only).</param>
    /// <param name="lr">Step size (≥ 0).</param>
    /// <param name="beta1">Decay of the first-moment average, in [0, 1).</param>
    /// <param name="beta2">Decay of the second-moment average, in [0, 1).</param>
    /// <param name="eps">Added to the denominator for stability (&gt; 0).</param>
    /// <param name="weightDecay">L2 penalty added to the gradient (≥ 0).</param>
    /// <param name="amsgrad">Divide by the running maximum of the second moment.</param>
    /// <exception cref="ArgumentNullException"><paramref name="groups"/> or an item is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A hyper-parameter is out of range.</exception>
    /// <exception cref="ArgumentException">A group sets a hyper-parameter Adam does not have, or a parameter is in two
    /// groups.</exception>
    public Adam(IEnumerable<ParamGroup> groups, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f,
        float weightDecay = 0f, bool amsgrad = false)
        : base(groups, AdamRule.Defaults(lr, beta1, beta2, eps, weightDecay)) =>
        (Beta1, Beta2, Eps, WeightDecay, AmsGrad) = (beta1, beta2, eps, weightDecay, amsgrad);

    /// <summary>The default first-moment decay (the constructor's).</summary>
    public float Beta1 { get; }
    /// <summary>The default second-moment decay.</summary>
    public float Beta2 { get; }
    /// <summary>The default denominator epsilon.</summary>
    public float Eps { get; }
    /// <summary>The default L2 weight decay.</summary>
    public float WeightDecay { get; }
    /// <summary>Whether the step uses AMSGrad's running maximum.</summary>
    public bool AmsGrad { get; }

    private protected override string?[] SlotNames => AdamRule.SlotNames;
    // PyTorch's Adam(decoupled_weight_decay=True) is AdamW: the option tells the two state dicts apart.
    private protected override IReadOnlyList<(string Name, bool Value)> Options =>
        [("amsgrad", AmsGrad), ("decoupled_weight_decay", false)];

    private protected override void Update(ParamGroup group, ParamState state, Tensor p, Tensor g) =>
        Launch(p, g, state, AdamRule.Step(group, state, p, AmsGrad ? AdamVariant.AmsGrad : AdamVariant.Adam));
}

/// <summary>Adam with decoupled weight decay (Loshchilov &amp; Hutter 2019; torch.optim.AdamW): p ← p·(1 - lr·wd), then the
/// Adam step on the gradient alone; optionally AMSGrad.</summary>
public sealed class AdamW : Optimizer
{
    /// <summary>AdamW over a model's parameters or tensors that require grad, as one group.</summary>
    /// <param name="parameters">What to update.</param>
    /// <param name="lr">Step size (≥ 0).</param>
    /// <param name="beta1">Decay of the first-moment average, in [0, 1).</param>
    /// <param name="beta2">Decay of the second-moment average, in [0, 1).</param>
    /// <param name="eps">Added to the denominator for stability (&gt; 0).</param>
    /// <param name="weightDecay">Decoupled weight decay (≥ 0; PyTorch's default 0.01).</param>
    /// <param name="amsgrad">Divide by the running maximum of the second moment.</param>
    /// <exception cref="ArgumentNullException"><paramref name="parameters"/> or one of its items is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A hyper-parameter is out of range.</exception>
    /// <exception cref="ArgumentException">A tensor is not a float32 leaf that requires grad.</exception>
    public AdamW(IEnumerable<IParameter> parameters, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f,
        float weightDecay = 1e-2f, bool amsgrad = false)
        : this([ParamGroup.Whole(parameters)], lr, beta1, beta2, eps, weightDecay, amsgrad) { }

    /// <summary>AdamW over parameter groups, each with its own hyper-parameters (those a group leaves unset come from these
    /// arguments): e.g. no decay for biases and norms.</summary>
    /// <param name="groups">The parameter groups (a parameter may belong to one group only).</param>
    /// <param name="lr">Step size (≥ 0).</param>
    /// <param name="beta1">Decay of the first-moment average, in [0, 1).</param>
    /// <param name="beta2">Decay of the second-moment average, in [0, 1).</param>
    /// <param name="eps">Added to the denominator for stability (&gt; 0).</param>
    /// <param name="weightDecay">Decoupled weight decay (≥ 0).</param>
    /// <param name="amsgrad">Divide by the running maximum of the second moment.</param>
    /// <exception cref="ArgumentNullException"><paramref name="groups"/> or an item is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A hyper-parameter is out of range.</exception>
    /// <exception cref="ArgumentException">A group sets a hyper-parameter AdamW does not have, or a parameter is in two
    /// groups.</exception>
    public AdamW(IEnumerable<ParamGroup> groups, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f,
        float weightDecay = 1e-2f, bool amsgrad = false)
        : base(groups, AdamRule.Defaults(lr, beta1, beta2, eps, weightDecay)) =>
        (Beta1, Beta2, Eps, WeightDecay, AmsGrad) = (beta1, beta2, eps, weightDecay, amsgrad);

    /// <summary>The default first-moment decay (the constructor's).</summary>
    public float Beta1 { get; }
    /// <summary>The default second-moment decay.</summary>
    public float Beta2 { get; }
    /// <summary>The default denominator epsilon.</summary>
    public float Eps { get; }
    /// <summary>The default decoupled weight decay.</summary>
    public float WeightDecay { get; }
    /// <summary>Whether the step uses AMSGrad's running maximum.</summary>
    public bool AmsGrad { get; }

    private protected override string?[] SlotNames => AdamRule.SlotNames;
    private protected override IReadOnlyList<(string Name, bool Value)> Options =>
        [("amsgrad", AmsGrad), ("decoupled_weight_decay", true)];

    private protected override void Update(ParamGroup group, ParamState state, Tensor p, Tensor g) =>
        Launch(p, g, state, AdamRule.Step(group, state, p, AdamVariant.Decoupled | (AmsGrad ? AdamVariant.AmsGrad : 0)));
}

/// <summary>What Adam and AdamW share: hyper-parameters, state names and the step's arguments.</summary>
internal static class AdamRule
{
    public static readonly string?[] SlotNames = ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"];

    public static (string, float)[] Defaults(float lr, float beta1, float beta2, float eps, float weightDecay) =>
        [("lr", lr), ("beta1", beta1), ("beta2", beta2), ("eps", eps), ("weight_decay", weightDecay)];

    /// <summary>Creates the state the step needs and returns its arguments (bias corrections for the parameter's own step
    /// count: one that skipped steps is corrected for its own).</summary>
    public static AdamStep Step(ParamGroup group, ParamState state, Tensor p, AdamVariant variant)
    {
        Optimizer.SlotOf(state, 0, p); Optimizer.SlotOf(state, 1, p);
        if ((variant & AdamVariant.AmsGrad) != 0) Optimizer.SlotOf(state, 2, p);
        float lr = group.LearningRate, wd = group.WeightDecay, b1 = group["beta1"], b2 = group["beta2"];
        int t = state.Step;
        return new AdamStep
        {
            Lr = lr, Beta1 = b1, Beta2 = b2, Eps = group["eps"], WeightDecay = wd, Shrink = 1f - lr * wd, Variant = variant,
            Correction1 = 1f - MathF.Pow(b1, t), Correction2 = 1f - MathF.Pow(b2, t),
            Correction1D = 1 - Math.Pow(b1, t), Correction2D = 1 - Math.Pow(b2, t), ShrinkD = 1 - (double)lr * wd,
        };
    }
}
