using DeepSharp.Layers;
using DeepSharp.Optim;

namespace DeepSharp.IO;

// A training checkpoint: the model, its optimizer and (optionally) its learning-rate scheduler and gradient scaler in one
// file, to resume training exactly.
public static partial class ModelCheckpoint
{
    private const string TrainingKind = "training_state";

    /// <summary>
    /// Saves the model's state dict, the optimizer's (step counts, buffers, groups' hyper-parameters), the scheduler's and
    /// the gradient scaler's in one checkpoint file, atomically: <c>net.Save(path, optimizer, scheduler, scaler)</c>. The
    /// file holds a dictionary with <c>model</c>, <c>optimizer</c>, <c>scheduler</c> and <c>scaler</c> entries (see
    /// <see cref="Optimizer.StateDict"/>, <see cref="LRScheduler.StateDict"/> and <see cref="GradScaler.StateDict"/>); its
    /// metadata names the block, optimizer and scheduler types. <see cref="Load(Block, string, Optimizer, LRScheduler?,
    /// GradScaler?)"/> resumes from it, and <c>net.Load(path)</c> reads the model alone.
    /// </summary>
    /// <exception cref="ArgumentNullException">net, path or optimizer is null.</exception>
    /// <exception cref="ArgumentException">A name breaks a limit of the format; nothing was written.</exception>
    /// <exception cref="ObjectDisposedException">The optimizer was disposed.</exception>
    public static void Save(this Block net, string path, Optimizer optimizer, LRScheduler? scheduler = null, GradScaler? scaler = null)
    {
        ArgumentNullException.ThrowIfNull(net);
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(optimizer);
        var model = new OrderedDictionary<string, CheckpointValue>();
        foreach (var (k, v) in net.StateDict()) model.Add(k, v);
        var opt = optimizer.StateDict();
        var sched = scheduler?.StateDict();
        var scale = scaler?.StateDict();
        try
        {
            var root = new OrderedDictionary<string, CheckpointValue>
            {
                ["model"] = new DictValue(model), ["optimizer"] = Dict(opt),
            };
            if (sched is not null) root["scheduler"] = Dict(sched);
            if (scale is not null) root["scaler"] = Dict(scale);
            var meta = ModelMeta(net, TrainingKind);
            meta["optimizer"] = optimizer.GetType().Name;
            if (scheduler is not null) meta["scheduler"] = scheduler.GetType().Name;
            Checkpoint.Save(path, new DictValue(root), meta);
        }
        finally
        {
            foreach (var (k, t) in opt) if (!IsLiveBuffer(k)) t.Dispose();
            if (sched is not null) foreach (var t in sched.Values) t.Dispose();
            if (scale is not null) foreach (var t in scale.Values) t.Dispose();
        }
    }

    /// <summary>Whether an optimizer state dict's entry is one of its live buffers (the other entries are made for the
    /// dictionary, and released once written).</summary>
    private static bool IsLiveBuffer(string key) =>
        key.StartsWith("state.", StringComparison.Ordinal) && !key.EndsWith(".step", StringComparison.Ordinal);

    private static DictValue Dict(OrderedDictionary<string, Tensor> state)
    {
        var d = new OrderedDictionary<string, CheckpointValue>();
        foreach (var (k, v) in state) d.Add(k, v);
        return new DictValue(d);
    }

    /// <summary>
    /// Resumes training from a file written by <see cref="Save(Block, string, Optimizer, LRScheduler?, GradScaler?)"/>: loads
    /// the model (strict, as <see cref="Block.LoadStateDict"/>; a never-run model with deferred shapes takes them from the
    /// file), the optimizer's state (copied to each parameter's device) and, if given, the scheduler's and the scaler's.
    /// Build the model, optimizer, scheduler and scaler as for the saved run; the next steps then continue bit for bit where
    /// the saved run would have. A scheduler or scaler saved in the file but not given is not read. All or nothing: on any
    /// error the model, the optimizer, the scheduler and the scaler are as they were.
    /// </summary>
    /// <returns>The model's load report.</returns>
    /// <exception cref="CheckpointFormatException">The file is not a valid checkpoint, or not a training checkpoint's
    /// layout.</exception>
    /// <exception cref="StateDictMismatchException">The file does not fit: a model's state dict alone (no optimizer state), an
    /// optimizer or scheduler of another type, a scaler not saved or with other settings, other options or settings, another
    /// number of groups or parameters, or
    /// buffers or model entries of other shapes (the message lists every problem).</exception>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    public static LoadReport Load(this Block net, string path, Optimizer optimizer, LRScheduler? scheduler = null,
        GradScaler? scaler = null)
    {
        ArgumentNullException.ThrowIfNull(net);
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(optimizer);
        var (value, meta) = Checkpoint.LoadWithMeta(path);
        try
        {
            var kind = meta.GetValueOrDefault("kind");
            if (kind != TrainingKind)
                throw Mismatch(kind == "state_dict"
                    ? $"'{path}' holds a model's state dict only (saved by net.Save(path)), no optimizer state; load it with " +
                      "net.Load(path) and start the optimizer afresh, or save with net.Save(path, optimizer)."
                    : $"'{path}' is not a training checkpoint (its kind is '{kind}').");
            var root = value.AsDict();
            var found = meta.GetValueOrDefault("optimizer");
            if (found != optimizer.GetType().Name)
                throw Mismatch($"'{path}' holds the state of a {found} but the optimizer is a {optimizer.GetType().Name}; build the " +
                    "optimizer the saved run used.");
            if (scheduler is not null && meta.GetValueOrDefault("scheduler") is var s && s != scheduler.GetType().Name)
                throw Mismatch(s is null ? $"'{path}' holds no scheduler state; load without the {scheduler.GetType().Name}."
                    : $"'{path}' holds the state of a {s} but the scheduler is a {scheduler.GetType().Name}.");
            var model = ModelState(Entry(root, "model", path), path);
            var opt = ModelState(Entry(root, "optimizer", path), path);
            var sched = scheduler is null ? null : ModelState(Entry(root, "scheduler", path), path);
            if (scaler is not null && !root.ContainsKey("scaler"))
                throw Mismatch($"'{path}' holds no gradient scaler state; load without the GradScaler, or save with " +
                    "net.Save(path, optimizer, scheduler, scaler).");
            var scale = scaler is null ? null : ModelState(root["scaler"], path);
            CheckTies(net, meta, path);
            var before = scaler?.StateDict();
            try
            {
                try { scaler?.LoadStateDict(scale!); }
                catch (ArgumentException e) { throw Mismatch($"'{path}': {e.Message}"); }
                return LoadAll(net, model, optimizer, opt, scheduler, sched, path);
            }
            catch when (before is not null)
            {
                scaler!.LoadStateDict(before); // as it was
                throw;
            }
            finally { if (before is not null) foreach (var t in before.Values) t.Dispose(); }
        }
        finally { Checkpoint.Release(value); }
    }

    private static CheckpointValue Entry(IReadOnlyDictionary<string, CheckpointValue> root, string key, string path) =>
        root.TryGetValue(key, out var v) ? v
            : throw new CheckpointFormatException($"'{path}' is a training checkpoint without its '{key}' entry.");

    private static StateDictMismatchException Mismatch(string message) => new(message, [], [], []);

    /// <summary>Scheduler, optimizer, then model, each checked whole before it changes; a later failure puts back the
    /// earlier ones from copies of their previous state.</summary>
    private static LoadReport LoadAll(Block net, OrderedDictionary<string, Tensor> model, Optimizer optimizer,
        OrderedDictionary<string, Tensor> opt, LRScheduler? scheduler, OrderedDictionary<string, Tensor>? sched, string path)
    {
        var schedBefore = scheduler?.StateDict();
        var optBefore = optimizer.StateDict();
        foreach (var k in optBefore.Keys.Where(IsLiveBuffer).ToList()) optBefore[k] = optBefore[k].Copy(optBefore[k].Device);
        int stage = 0;
        try
        {
            try
            {
                if (scheduler is not null) scheduler.LoadStateDict(sched!);
                stage = 1;
                optimizer.LoadStateDict(opt);
                stage = 2;
            }
            catch (ArgumentException e) { throw Mismatch($"'{path}': {e.Message}"); }
            return net.LoadStateDict(model);
        }
        catch when (stage > 0)
        {
            if (stage == 2) optimizer.LoadStateDict(optBefore);
            scheduler?.LoadStateDict(schedBefore!);
            throw;
        }
        finally
        {
            foreach (var t in optBefore.Values) t.Dispose();
            if (schedBefore is not null) foreach (var t in schedBefore.Values) t.Dispose();
        }
    }
}
