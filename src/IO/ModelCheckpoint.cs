using DeepSharp.Layers;

namespace DeepSharp.IO;

/// <summary>Saving and loading a model's parameters and buffers (its <see cref="Block.StateDict"/>).</summary>
public static partial class ModelCheckpoint
{
    /// <summary>Saves the state dict atomically, with the block type in the metadata.</summary>
    /// <exception cref="ArgumentException">A parameter path or block name breaks a limit of the format (e.g. a lone UTF-16
    /// surrogate in a block name); nothing was written and the previous file is intact.</exception>
    public static void Save(this Block net, string path)
    {
        ArgumentNullException.ThrowIfNull(net);
        ArgumentNullException.ThrowIfNull(path);
        var entries = new OrderedDictionary<string, CheckpointValue>();
        foreach (var (k, v) in net.StateDict()) entries.Add(k, v);
        var meta = ModelMeta(net, "state_dict");
        Checkpoint.Save(path, new DictValue(entries), meta);
    }

    private const string AliasPrefix = "alias:";

    /// <summary>The metadata of a model's file: its kind, the block type at each path and the tied parameters' aliases.</summary>
    private static Dictionary<string, string> ModelMeta(Block net, string kind)
    {
        var meta = new Dictionary<string, string>
        {
            ["kind"] = kind,
            ["block"] = net.GetType().Name,
            ["library"] = "DeepSharp " + (typeof(Checkpoint).Assembly.GetName().Version?.ToString(3) ?? "?"),
        };
        // The block type at each path, for humans and tools (never used to create types when loading).
        foreach (var (p, b) in net.NamedBlocks()) if (p.Length > 0) meta["block:" + p] = b.GetType().Name;
        // A tied parameter is stored once, under its first path; its other paths are recorded as aliases.
        foreach (var (alias, canonical) in net.ParameterAliases()) meta[AliasPrefix + alias] = canonical;
        return meta;
    }

    /// <summary>Loads a state dict file into the model (strict and transactional, see <see cref="Block.LoadStateDict"/>);
    /// a never-run model with deferred shapes takes them from the file.</summary>
    /// <exception cref="CheckpointFormatException">The file is not a valid checkpoint or not a state dict, it changed while
    /// being read, or <paramref name="path"/> is a directory; the model is unchanged.</exception>
    /// <exception cref="StateDictMismatchException">It does not fit the model; the model is unchanged.</exception>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    /// <exception cref="DirectoryNotFoundException">A directory on <paramref name="path"/> does not exist.</exception>
    public static LoadReport Load(this Block net, string path, bool strict = true, string? stripPrefix = null)
    {
        ArgumentNullException.ThrowIfNull(net);
        ArgumentNullException.ThrowIfNull(path);
        var (value, meta) = Checkpoint.LoadWithMeta(path);
        try
        {
            // A training checkpoint (Save with an optimizer) holds the model's state dict under "model".
            var model = meta.GetValueOrDefault("kind") == TrainingKind && value is DictValue d && d.AsDict().TryGetValue("model", out var m)
                ? m : value;
            var state = ModelState(model, path);
            if (strict) CheckTies(net, meta, path);
            return net.LoadStateDict(state, strict, stripPrefix);
        }
        finally
        {
            // LoadStateDict copied the values into the model's own storage: the loaded tensors go back to the pool, so the
            // next load reuses their arrays.
            Checkpoint.Release(value);
        }
    }

    /// <summary>A loaded dictionary of tensors as a model's state dict.</summary>
    private static OrderedDictionary<string, Tensor> ModelState(CheckpointValue value, string path)
    {
        if (value is not DictValue dict)
            throw new CheckpointFormatException($"'{path}' holds a {(value is ListValue ? "list" : "tensor")}, not a model's state dict.");
        var state = new OrderedDictionary<string, Tensor>();
        foreach (var (k, v) in dict.AsDict())
            state.Add(k, v is TensorValue t ? t.Tensor
                : throw new CheckpointFormatException($"'{path}': entry '{k}' is not a tensor, so this is not a state dict."));
        return state;
    }

    /// <summary>Refuses a file whose parameter ties differ from the model's (before anything is written).</summary>
    private static void CheckTies(Block net, IReadOnlyDictionary<string, string> meta, string path)
    {
        var inFile = meta.Where(kv => kv.Key.StartsWith(AliasPrefix, StringComparison.Ordinal))
            .Select(kv => $"{kv.Key[AliasPrefix.Length..]} = {kv.Value}").ToHashSet();
        var inModel = net.ParameterAliases().Select(a => $"{a.Alias} = {a.Canonical}").ToHashSet();
        if (inFile.SetEquals(inModel)) return;
        throw new StateDictMismatchException($"'{path}' ties parameters differently from {net.GetType().Name}; nothing was loaded. " +
            $"File ties: [{string.Join(", ", inFile)}]; model ties: [{string.Join(", ", inModel)}].", [], [],
            [.. inFile.Except(inModel), .. inModel.Except(inFile)]);
    }

    /// <summary>Saves the state dict as safetensors (PyTorch's <c>safetensors.torch.load_file</c> reads it; ties are
    /// written once, under their first path).</summary>
    /// <exception cref="ArgumentException">A parameter path breaks a limit of the format; nothing was written.</exception>
    public static void SaveSafeTensors(this Block net, string path)
    {
        ArgumentNullException.ThrowIfNull(net);
        ArgumentNullException.ThrowIfNull(path);
        SafeTensors.Save(path, net.StateDict(), new Dictionary<string, string> { ["block"] = net.GetType().Name });
    }

    /// <summary>Loads a safetensors state dict (e.g. from PyTorch) into the model: strict and transactional as
    /// <see cref="Block.LoadStateDict"/>; F16/BF16 weights are converted to the parameters' float32
    /// exactly.</summary>
    /// <exception cref="CheckpointFormatException">The file is not valid safetensors, it changed while being read, or
    /// <paramref name="path"/> is a directory; the model is unchanged.</exception>
    /// <exception cref="StateDictMismatchException">It does not fit the model; the model is unchanged.</exception>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    public static LoadReport LoadSafeTensors(this Block net, string path, bool strict = true, string? stripPrefix = null)
    {
        ArgumentNullException.ThrowIfNull(net);
        ArgumentNullException.ThrowIfNull(path);
        var state = SafeTensors.Load(path);
        try { return net.LoadStateDict(state, strict, stripPrefix); }
        finally { foreach (var t in state.Values) t.Dispose(); } // the model holds copies
    }
}
