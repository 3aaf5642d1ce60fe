using System.Collections;
using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;

namespace DeepSharp.Layers;

/// <summary>Marks a field that deliberately holds no model state (a cache), so the registration check skips it.</summary>
[AttributeUsage(AttributeTargets.Field)]
public sealed class TransientAttribute : Attribute;

/// <summary>A field holds a block, parameter or tensor (directly or in a collection or tuple) that was never registered,
/// so it would be missing from parameters, state dicts, device moves and checkpoints.</summary>
public sealed class UnregisteredStateException(string message) : InvalidOperationException(message);

public abstract partial class Block
{
    private static readonly ConcurrentDictionary<Type, FieldInfo[]> _stateFields = new();

    // What the registration check last saw from this block as root: the registration count (process-wide), the tree's
    // blocks and what their state fields held. While nothing was registered anywhere and no field changed, the check is a
    // comparison of field values instead of the full walk, which costs more than a small model's forward
    // (see benchmarks/NOTES.md, "Moved from code comments"). One immutable object, replaced whole, so concurrent
    // calls on one model never see half of an update.
    private sealed record Checked(int Version, Block[] Tree, object?[][] FieldValues);

    private static int _structureVersion;
    private Checked? _checked;
    private bool _allMaterialized;

    /// <summary>The outermost call's checks: the registration check and initialization of known shapes, in full when the
    /// tree or a state field changed since the last call, else only what can still change (deferred parameters).</summary>
    private void PrepareRoot(Device device)
    {
        if (CheckRegistration() || !_allMaterialized)
        {
            InitializeKnown(device);
            _allMaterialized = AllMaterialized();
        }
    }

    /// <summary>Checks registration (see <see cref="WalkRegistration"/>) unless nothing changed since the last check;
    /// returns whether it walked.</summary>
    private bool CheckRegistration()
    {
        int version = Volatile.Read(ref _structureVersion);
        if (_checked is { } last && last.Version == version && FieldsUnchanged(last)) return false;
        WalkRegistration();
        var tree = NamedBlocks().Select(b => b.Block).ToArray();
        var values = tree.Select(b => StateFieldsOf(b.GetType()).Select(f => Snapshot(f.GetValue(b))).ToArray()).ToArray();
        _checked = new Checked(version, tree, values);
        _allMaterialized = false; // the tree may hold new parameters: the next call looks again
        return true;
    }

    private static bool FieldsUnchanged(Checked last)
    {
        for (int i = 0; i < last.Tree.Length; i++)
        {
            var fields = StateFieldsOf(last.Tree[i].GetType());
            for (int j = 0; j < fields.Length; j++)
                if (!SameSnapshot(fields[j].GetValue(last.Tree[i]), last.FieldValues[i][j])) return false;
        }
        return true;
    }

    /// <summary>What a state field holds, for change detection: the object itself, or the items of a collection or tuple
    /// (whose contents can change while the field keeps the same object).</summary>
    private static object? Snapshot(object? value) =>
        value is null or Block or Parameter or Tensor || !HoldsState(value.GetType()) ? value
        : StateItems(value, null).Select(x => x.Item).ToArray();

    private static bool SameSnapshot(object? value, object? snapshot)
    {
        if (value is null or Block or Parameter or Tensor || !HoldsState(value.GetType()) || snapshot is not object[] items)
            return ReferenceEquals(value, snapshot) || value is ValueType && Equals(value, snapshot);
        int i = 0;
        foreach (var (_, item) in StateItems(value, null))
            if (i >= items.Length || !ReferenceEquals(items[i++], item)) return false;
        return i == items.Length;
    }

    private bool AllMaterialized()
    {
        foreach (var b in _checked!.Tree)
            foreach (var (_, p) in b._parameters)
                if (!p.IsInitialized) return false;
        return true;
    }

    /// <summary>
    /// Fails when a field of a block in this tree holds a block, parameter or (non-[Transient]) tensor — directly, or inside
    /// an array, list, dictionary, set or tuple — that is not registered anywhere in the tree: the silent weight loss
    /// TorchSharp users meet. Registration stays explicit; this only checks it.
    /// </summary>
    private void WalkRegistration()
    {
        var blocks = new HashSet<object>(ReferenceEqualityComparer.Instance);
        var state = new HashSet<object>(ReferenceEqualityComparer.Instance);
        foreach (var (_, b) in NamedBlocks())
        {
            blocks.Add(b);
            foreach (var (_, p) in b._parameters) { state.Add(p); if (p.IsInitialized) state.Add(p.Data); }
            foreach (var (_, t) in b._buffers) state.Add(t);
        }
        foreach (var b in blocks.Cast<Block>())
            foreach (var f in StateFieldsOf(b.GetType()))
                foreach (var (label, item) in StateItems(f.GetValue(b), f.Name))
                {
                    if (item is Block ? blocks.Contains(item) : state.Contains(item)) continue;
                    var name = FieldName(f);
                    var where = label == f.Name ? $"field '{name}'"
                        : $"field '{name}' ({FriendlyName(f.FieldType)}) at {label!.Replace(f.Name, name)}";
                    throw new UnregisteredStateException(
                        $"{b.GetType().Name}: {where} holds a {item.GetType().Name} that is not registered, " +
                        "so it would be missing from parameters, state dicts, device moves and checkpoints. Assign it through " +
                        "Register(\"name\", …) (RegisterBuffer for a constant tensor); keep groups of blocks or parameters in a " +
                        "registered BlockList, BlockDict, ParameterList or ParameterDict; mark a deliberate cache [Transient].");
                }
    }

    /// <summary>The blocks, parameters and tensors a field's value holds, with where (when <paramref name="label"/> is not
    /// null): the value itself, or the items of arrays, collections, dictionaries (keys and values) and tuples, nested a
    /// few levels.</summary>
    private static IEnumerable<(string? Label, object Item)> StateItems(object? value, string? label, int depth = 0)
    {
        switch (value)
        {
            case null or string: yield break;
            case Block or Parameter or Tensor: yield return (label, value); yield break;
        }
        // Only shapes that can hold state are opened, judged by the value's own type: an object field holding a list of
        // numbers is not enumerated (nor boxed) on every call.
        if (depth >= 4 || !HoldsState(value.GetType())) yield break;
        var (pairKey, pairValue) = KeyValue(value);
        if (pairKey is not null)
        {
            foreach (var x in StateItems(pairKey, label is null ? null : $"{label}.Key", depth + 1)) yield return x;
            foreach (var x in StateItems(pairValue, label is null ? null : $"{label}.Value", depth + 1)) yield return x;
        }
        else if (value is ITuple tuple)
        {
            for (int i = 0; i < tuple.Length; i++)
                foreach (var x in StateItems(tuple[i], label is null ? null : $"{label}.Item{i + 1}", depth + 1)) yield return x;
        }
        else if (value is IDictionary dict)
        {
            foreach (DictionaryEntry e in dict)
            {
                foreach (var x in StateItems(e.Key, label is null ? null : $"{label}[key {e.Key}]", depth + 1)) yield return x;
                foreach (var x in StateItems(e.Value, label is null ? null : $"{label}[{Quote(e.Key)}]", depth + 1)) yield return x;
            }
        }
        else if (value is IEnumerable items && IsCollection(value.GetType()))
        {
            int i = 0;
            foreach (var item in items)
            {
                var (key, inner) = KeyValue(item);
                var at = label is null ? null : key is null ? $"{label}[{i}]" : $"{label}[{Quote(key)}]";
                foreach (var x in StateItems(inner, at, depth + 1)) yield return x;
                i++;
            }
        }
    }

    private static string Quote(object? key) => key is string s ? $"\"{s}\"" : $"{key}";

    /// <summary>A key-value pair's parts (dictionaries that are not <see cref="IDictionary"/>), else (null, item).</summary>
    private static (object? Key, object? Value) KeyValue(object? item)
    {
        var t = item?.GetType();
        if (t is not { IsGenericType: true } || t.GetGenericTypeDefinition() != typeof(KeyValuePair<,>)) return (null, item);
        return (t.GetProperty("Key")!.GetValue(item), t.GetProperty("Value")!.GetValue(item));
    }

    /// <summary>Materialized collections only: enumerating a lazy sequence (a LINQ query, an iterator) could run user code.</summary>
    private static bool IsCollection(Type t) =>
        _isCollection.GetOrAdd(t, static t => t.IsArray || typeof(ICollection).IsAssignableFrom(t) ||
            t.GetInterfaces().Any(i => i.IsGenericType &&
                (i.GetGenericTypeDefinition() == typeof(IReadOnlyCollection<>) || i.GetGenericTypeDefinition() == typeof(ICollection<>))));

    private static readonly ConcurrentDictionary<Type, bool> _isCollection = new();

    private static FieldInfo[] StateFieldsOf(Type t) => _stateFields.GetOrAdd(t, StateFields);

    private static FieldInfo[] StateFields(Type t)
    {
        var fields = new List<FieldInfo>();
        for (var type = t; type != null && type != typeof(Block); type = type.BaseType)
            fields.AddRange(type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)
                .Where(f => MayHoldState(f.FieldType, 0) && f.GetCustomAttribute<TransientAttribute>() == null));
        return fields.ToArray();
    }

    /// <summary>Whether a field of this type can hold a block, parameter or tensor: those types, or arrays, generic
    /// collections and tuples of them (or of object, which can hold anything).</summary>
    private static bool MayHoldState(Type t, int depth)
    {
        if (depth > 4 || t == typeof(string) || t.IsPrimitive || t.IsEnum || t.IsPointer || typeof(Delegate).IsAssignableFrom(t))
            return false;
        if (typeof(Block).IsAssignableFrom(t) || t == typeof(Parameter) || t == typeof(Tensor) || t == typeof(object)) return true;
        if (t.IsArray) return MayHoldState(t.GetElementType()!, depth + 1);
        if (!t.IsGenericType && typeof(ICollection).IsAssignableFrom(t)) return true; // ArrayList, Hashtable: items of any type
        return t.IsGenericType && t.GetGenericArguments().Any(a => MayHoldState(a, depth + 1)) &&
               (typeof(IEnumerable).IsAssignableFrom(t) || typeof(ITuple).IsAssignableFrom(t)
                   || t.GetGenericTypeDefinition() == typeof(KeyValuePair<,>));
    }

    /// <summary>Whether a value of this (runtime) type can hold state, cached per type.</summary>
    private static bool HoldsState(Type t) => _holdsState.GetOrAdd(t, static t => t != typeof(object) && MayHoldState(t, 0));
    private static readonly ConcurrentDictionary<Type, bool> _holdsState = new();

    /// <summary>The name a user wrote: an auto-property's, not its compiler-made backing field's.</summary>
    private static string FieldName(FieldInfo f) =>
        f.Name.StartsWith('<') && f.Name.IndexOf(">k__BackingField", StringComparison.Ordinal) is > 1 and var end ? f.Name[1..end] : f.Name;

    private static string FriendlyName(Type t) => !t.IsGenericType ? t.Name
        : $"{t.Name[..t.Name.IndexOf('`')]}<{string.Join(", ", t.GetGenericArguments().Select(FriendlyName))}>";

    /// <summary>One line describing a leaf block's configuration, e.g. "20 → 256" (printed inside the parentheses).</summary>
    protected virtual string ExtraRepr() => "";

    /// <summary>The tree as PyTorch prints it: <c>(0): Dense(20 → 256)</c>, one child per line, nested blocks indented.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder(GetType().Name).Append('(').Append(ExtraRepr());
        if (_children.Count == 0) return sb.Append(')').ToString();
        sb.Append('\n');
        foreach (var (name, child) in _children)
            sb.Append("  (").Append(name).Append("): ").Append(child.ToString().Replace("\n", "\n  ")).Append('\n');
        return sb.Append(')').ToString();
    }
}
