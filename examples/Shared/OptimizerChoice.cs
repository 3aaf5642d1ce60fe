using System.CommandLine;
using DeepSharp.Optim;

/// <summary>The training apps' <c>--optimizer</c>, <c>--momentum</c> and <c>--weight-decay</c>: which optimizer steps the
/// model. Its state (momentum buffers, moment estimates, step counts) is saved in every checkpoint, so <c>--resume</c>
/// continues exactly with any of them.</summary>
public sealed record OptimizerChoice(string Name, float Momentum, float WeightDecay)
{
    /// <summary>The three options, for a command's option list.</summary>
    public sealed record Options(Option<string> Name, Option<float> Momentum, Option<float> WeightDecay)
    {
        /// <summary>The options with their defaults.</summary>
        public static Options Create() => new(
            Cli.Choice("--optimizer", "sgd", ["sgd", "adam", "adamw"], "the optimizer (--lr is its learning rate)"),
            Cli.Number("--momentum", 0f, v => v is >= 0 and < 1, "a number in [0, 1)", "SGD's momentum", "X"),
            Cli.Number("--weight-decay", 0f, v => v >= 0 && float.IsFinite(v), "a number ≥ 0",
                "L2 penalty (SGD, Adam) or decoupled decay (AdamW)", "X"));

        /// <summary>What the command line chose.</summary>
        public OptimizerChoice Read(ParseResult r) => new(r.GetValue(Name)!, r.GetValue(Momentum), r.GetValue(WeightDecay));
    }

    /// <summary>The optimizer over <paramref name="parameters"/> with learning rate <paramref name="lr"/>.</summary>
    public Optimizer Make(IEnumerable<IParameter> parameters, float lr) => Name switch
    {
        "adam" => new Adam(parameters, lr, weightDecay: WeightDecay),
        "adamw" => new AdamW(parameters, lr, weightDecay: WeightDecay),
        _ => new Sgd(parameters, lr, momentum: Momentum, weightDecay: WeightDecay),
    };
}
