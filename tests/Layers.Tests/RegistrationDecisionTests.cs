using System.Collections;
using DeepSharp.Layers;

namespace DeepSharp.Layers.Tests;

/// <summary>
/// The registration check's decisions, field type by field type: what it inspects (fields of the block's own classes,
/// materialized collections, tuples and key-value pairs nested up to four levels), what it leaves alone (plain
/// <c>object</c> fields, lazy sequences, delegates, [Transient] fields, deeper nesting).
/// </summary>
public class RegistrationDecisionTests
{
    private static readonly Tensor X = Tensor.Rand([2, 3], generator: new Generator(9));

    private sealed class Holder<T>(T held) : Block
    {
        private readonly T _held = held;
        public T Held => _held;
        protected override Tensor Forward(Tensor x) => x;
    }

    private static void Reported<T>(T held)
    {
        var e = Assert.Throws<UnregisteredStateException>(() => new Sequential(new Holder<T>(held)).Call(X));
        Assert.Contains("_held", e.Message);
    }

    private static void Accepted<T>(T held) => Assert.Equal(X.Shape, new Sequential(new Holder<T>(held)).Call(X).Shape);

    /// <summary>A collection that is only an <see cref="IReadOnlyCollection{T}"/>.</summary>
    private sealed class ReadOnlyBag<T>(params T[] items) : IReadOnlyCollection<T>
    {
        public int Count => items.Length;
        public IEnumerator<T> GetEnumerator() => ((IEnumerable<T>)items).GetEnumerator();
        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }

    /// <summary>A collection that is only an <see cref="ICollection{T}"/>.</summary>
    private sealed class Bag<T>(params T[] items) : ICollection<T>
    {
        private readonly List<T> _items = [.. items];
        public int Count => _items.Count;
        public bool IsReadOnly => false;
        public void Add(T item) => _items.Add(item);
        public void Clear() => _items.Clear();
        public bool Contains(T item) => _items.Contains(item);
        public void CopyTo(T[] array, int arrayIndex) => _items.CopyTo(array, arrayIndex);
        public bool Remove(T item) => _items.Remove(item);
        public IEnumerator<T> GetEnumerator() => _items.GetEnumerator();
        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }

    [Fact]
    public void EveryShapeThatCanHoldStateIsInspected()
    {
        Reported(new Dictionary<Dense, int> { [new Dense(2)] = 0 });              // keys too
        Reported(new List<object> { new ArrayList { new Dense(2) } });             // a non-generic collection inside
        Reported(new ReadOnlyBag<Dense>(new Dense(2)));
        Reported(new Bag<Block>(new Relu(), new Dense(2)));
        Reported(new List<List<List<List<Dense>>>> { new() { new() { new() { new Dense(2) } } } }); // four levels
        Reported(new[] { new[] { new[] { new[] { new Dense(2) } } } });
        Reported(new List<Tensor> { Tensor.Ones(1) });
        Reported((1, new Parameter([1], Init.Zeros)));
        Reported<object>(new Dense(2));                                         // an object field holding a block
        Reported(new KeyValuePair<string, Dense>("head", new Dense(2)));       // a bare pair
    }

    [Fact]
    public void WhatCannotHoldStateOrIsNotMaterializedIsLeftAlone()
    {
        Accepted<object>(new object());                                          // an object field holding nothing that can
        Accepted<object>(new List<float> { 1f, 2f });                           // hold state is not opened
        Accepted(new List<List<List<List<List<Dense>>>>> { new() { new() { new() { new() { new Dense(2) } } } } }); // five
        Accepted(new[] { new[] { new[] { new[] { new[] { new Dense(2) } } } } });
        Accepted("text");
        Accepted(42);
        Accepted(DayOfWeek.Friday);
        int runs = 0;
        Accepted(Lazy(() => runs++));                                             // a lazy sequence is never enumerated
        Func<Dense> make = () => { runs++; return new Dense(2); };
        Accepted(make);                                                           // nor a delegate invoked
        Assert.Equal(0, runs);
    }

    private static IEnumerable<Dense> Lazy(Action onEnumerate)
    {
        onEnumerate();
        yield return new Dense(2);
    }

    private abstract class WithBaseField : Block
    {
        private readonly Dense _inBase = new(2);
        protected Dense InBase => _inBase;
    }

    private sealed class Derived : WithBaseField
    {
        protected override Tensor Forward(Tensor x) => x;
    }

    private sealed class Cached : Block
    {
        [Transient] private readonly Dense _cache = new(2);
        protected override Tensor Forward(Tensor x) => _cache is null ? x : x;
    }

    private sealed class KeepsItsWeightTensor : Block
    {
        private readonly Parameter _w;
        private Tensor? _wData;
        public KeepsItsWeightTensor() => _w = Register("w", new Parameter([3], Init.Ones));
        protected override Tensor Forward(Tensor x)
        {
            _wData = _w.Data; // a registered parameter's own tensor, kept for convenience
            return x * _wData;
        }
    }

    [Fact]
    public void BaseClassFieldsAreInspectedAndRegisteredTensorsAndTransientFieldsAreFine()
    {
        Assert.Contains("_inBase", Assert.Throws<UnregisteredStateException>(() => new Derived().Call(X)).Message);
        Assert.Equal(X.Shape, new Cached().Call(X).Shape);
        var keeps = new KeepsItsWeightTensor();
        keeps.Call(X);
        Assert.Equal(X.Shape, keeps.Call(X).Shape); // the field now holds the registered parameter's data
        Assert.Single(keeps.StateDict());
    }
}

/// <summary>Tests that rely on nothing being registered anywhere between two calls: the registration count is
/// process-wide, so they run alone.</summary>
[CollectionDefinition(nameof(RegistrationCount), DisableParallelization = true)]
public sealed class RegistrationCount;

/// <summary>
/// After its first call, a model skips the full registration check while nothing was registered anywhere and no state
/// field changed (benchmarks/NOTES.md): a field or collection changed without any registration, or a block added later,
/// must still be noticed.
/// </summary>
[Collection(nameof(RegistrationCount))]
public class LaterCallTests
{
    private static readonly Tensor X = Tensor.Rand([2, 3], generator: new Generator(9));

    private sealed class Swappable : Block
    {
        public Dense? Head;
        public readonly List<Dense> Heads = [];
        public Swappable()
        {
            Head = Register("head", new Dense(3));
            Heads.Add(Register("other", new Dense(3)));
        }
        protected override Tensor Forward(Tensor x) => Heads[0].Call(Head!.Call(x));
    }

    [Fact]
    public void ALaterCallNoticesChangedFieldsWithoutAnyRegistration()
    {
        // The spare blocks exist before the first call, so nothing is registered between the calls.
        var spare = new Dense(3);
        var spareInList = new Dense(3);
        var net = new Swappable();
        var root = new Sequential(net);
        root.Call(X);
        root.Call(X);
        net.Heads.Add(spareInList);
        Assert.Contains("Heads", Assert.Throws<UnregisteredStateException>(() => root.Call(X)).Message);
        net.Heads.RemoveAt(1);
        root.Call(X);
        net.Heads[0] = (Dense)net["head"]; // another registered block in its place: fine
        root.Call(X);
        net.Head = spare;
        Assert.Contains("Head", Assert.Throws<UnregisteredStateException>(() => root.Call(X)).Message);
    }

    private sealed class Forgetful : Block
    {
        private readonly Dense _hidden = new(3);
        protected override Tensor Forward(Tensor x) => _hidden is null ? x : x;
    }

    [Fact]
    public void ABlockAddedAfterTheFirstCallIsChecked()
    {
        var late = new Forgetful(); // made before the first call: adding it is the only registration between calls
        var net = new Sequential(new Dense(3));
        net.Call(X);
        net.Add(late);
        Assert.Throws<UnregisteredStateException>(() => net.Call(X));
    }

    /// <summary>One state field and no parameters anywhere in the tree: nothing else can mark the tree as changed.</summary>
    private sealed class OneField : Block
    {
        public Block Act;
        public OneField() => Act = Register("act", new Relu());
        protected override Tensor Forward(Tensor x) => Act.Call(x);
    }

    [Fact]
    public void AChangedFieldIsNoticedWhenItIsTheOnlyOne()
    {
        var spare = new Tanh();
        var net = new OneField();
        net.Call(X);
        net.Call(X);
        net.Act = spare;
        Assert.Throws<UnregisteredStateException>(() => net.Call(X));
    }
}
