using DeepSharp.Ops;

namespace DeepSharp.Optim;

/// <summary>Stochastic gradient descent (torch.optim.SGD): d = g + wd·p; with momentum, buf = momentum·buf + (1 - dampening)·d
/// (buf = d on the first step) and d = buf, or d + momentum·buf with Nesterov; then p -= lr·d.</summary>
public sealed class Sgd : Optimizer
{
    /// <summary>SGD over a model's parameters (<c>new Sgd(net.Parameters(), lr: 0.1f)</c>, deferred ones included) or
    /// tensors that require grad (<c>new Sgd([w, b], lr: 0.1f)</c>), as one group.</summary>
    /// <param name="parameters">What to update.</param>
    /// <param name="lr">Learning rate (≥ 0).</param>
    /// <param name="momentum">Momentum factor in [0, 1); 0 disables the buffer.</param>
    /// <param name="weightDecay">L2 penalty factor (≥ 0).</param>
    /// <param name="dampening">Dampening of the momentum buffer's gradient term, in [0, 1].</param>
    /// <param name="nesterov">Nesterov momentum (needs momentum &gt; 0 and dampening 0, as PyTorch).</param>
    /// <exception cref="ArgumentNullException"><paramref name="parameters"/> or one of its items is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A hyper-parameter is out of range.</exception>
    /// <exception cref="ArgumentException">Nesterov without momentum or with dampening; a tensor that is not a float32 leaf
    /// requiring grad.</exception>
    public Sgd(IEnumerable<IParameter> parameters, float lr, float momentum = 0f, float weightDecay = 0f, float dampening = 0f,
        bool nesterov = false)
        : this([ParamGroup.Whole(parameters)], lr, momentum, weightDecay, dampening, nesterov) { }

    /// <summary>SGD over parameter groups, each with its own hyper-parameters (those a group leaves unset come from these
    /// arguments): <c>new Sgd([new ParamGroup(weights, weightDecay: 5e-4f), new ParamGroup(biases)], lr: 0.1f, momentum:
    /// 0.9f)</c>.</summary>
    /// <param name="groups">The parameter groups (a parameter may belong to one group only).</param>
    /// <param name="lr">Learning rate (≥ 0).</param>
    /// <param name="momentum">Momentum factor in [0, 1); 0 disables the buffer.</param>
    /// <param name="weightDecay">L2 penalty factor (≥ 0).</param>
    /// <param name="dampening">Dampening of the momentum buffer's gradient term, in [0, 1].</param>
    /// <param name="nesterov">Nesterov momentum (needs every group's momentum &gt; 0 and dampening 0).</param>
    /// <exception cref="ArgumentNullException"><paramref name="groups"/> or an item is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A hyper-parameter is out of range.</exception>
    /// <exception cref="ArgumentException">A group sets a hyper-parameter SGD does not have, a parameter is in two groups,
    /// Nesterov without momentum or with dampening.</exception>
    public Sgd(IEnumerable<ParamGroup> groups, float lr, float momentum = 0f, float weightDecay = 0f, float dampening = 0f,
        bool nesterov = false)
        : base(Checked(groups, momentum, dampening, nesterov),
            [("lr", lr), ("momentum", momentum), ("dampening", dampening), ("weight_decay", weightDecay)]) =>
        (Momentum, WeightDecay, Dampening, Nesterov) = (momentum, weightDecay, dampening, nesterov);

    /// <summary>Refuses Nesterov without momentum or with dampening in any group before a group joins the optimizer.</summary>
    private static ParamGroup[] Checked(IEnumerable<ParamGroup> groups, float momentum, float dampening, bool nesterov)
    {
        ArgumentNullException.ThrowIfNull(groups);
        var list = groups.ToArray();
        for (int j = 0; nesterov && j < list.Length; j++)
        {
            var given = list[j]?.HyperParameters;
            float m = given?.GetValueOrDefault("momentum", momentum) ?? momentum;
            float d = given?.GetValueOrDefault("dampening", dampening) ?? dampening;
            if (m <= 0 || d != 0)
                throw new ArgumentException($"SGD: Nesterov momentum needs momentum > 0 and dampening 0, but group {j} has momentum " +
                    $"{m} and dampening {d}.", nameof(nesterov));
        }
        return list;
    }

    /// <summary>The default momentum factor (the constructor's).</summary>
    public float Momentum { get; }
    /// <summary>The default L2 weight decay (the constructor's).</summary>
    public float WeightDecay { get; }
    /// <summary>The default dampening (the constructor's).</summary>
    public float Dampening { get; }
    /// <summary>Whether the step uses Nesterov momentum.</summary>
    public bool Nesterov { get; }

    private protected override string Name => "SGD";
    private protected override string?[] SlotNames => ["momentum_buffer", null, null];
    private protected override IReadOnlyList<(string Name, bool Value)> Options => [("nesterov", Nesterov)];

    private protected override void CheckGroupValue(string name, float value)
    {
        if (Nesterov && (name == "momentum" && value <= 0 || name == "dampening" && value != 0))
            throw new ArgumentOutOfRangeException(nameof(value), $"SGD: Nesterov momentum needs momentum > 0 and dampening 0, got " +
                $"{name} = {value}.");
    }

    private protected override void Update(ParamGroup group, ParamState state, Tensor p, Tensor g)
    {
        float momentum = group["momentum"];
        bool start = momentum != 0 && state.Slots[0] is null; // PyTorch: a new buffer is the first step's gradient
        if (start) SlotOf(state, 0, p);
        Launch(p, g, state, new SgdStep
        {
            Lr = group.LearningRate, Momentum = momentum, Dampening = group["dampening"], WeightDecay = group.WeightDecay,
            Buffer = start ? MomentumBuffer.Start : MomentumBuffer.Update,
            Direction = Nesterov ? SgdDirection.Nesterov : SgdDirection.Buffer,
        });
    }
}
