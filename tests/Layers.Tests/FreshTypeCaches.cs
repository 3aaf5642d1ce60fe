using System.Collections;
using System.Collections.Concurrent;
using System.Reflection;
using DeepSharp.Layers;
using Xunit.v3;

[assembly: DeepSharp.Layers.Tests.FreshTypeCaches]

namespace DeepSharp.Layers.Tests;

/// <summary>
/// Empties <see cref="Block"/>'s per-type caches (which fields of a type may hold state, which types are collections)
/// before each test, so every test sees the decisions of the code under test rather than ones an earlier test cached in
/// the same process. A normal run gives the same results either way; mutation testing runs many code variants in one
/// test process, where a stale cache would hide a changed decision (tools/mutation.sh, benchmarks/NOTES.md). The caches
/// are found by shape (static dictionaries keyed by <see cref="Type"/>), not by name; none found means nothing to clear.
/// </summary>
[AttributeUsage(AttributeTargets.Assembly)]
public sealed class FreshTypeCachesAttribute : BeforeAfterTestAttribute
{
    private static readonly IDictionary[] Caches = typeof(Block)
        .GetFields(BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public)
        .Where(f => f.FieldType.IsGenericType && f.FieldType.GetGenericTypeDefinition() == typeof(ConcurrentDictionary<,>)
            && f.FieldType.GetGenericArguments()[0] == typeof(Type))
        .Select(f => (IDictionary)f.GetValue(null)!)
        .ToArray();

    /// <inheritdoc/>
    public override void Before(MethodInfo methodUnderTest, IXunitTest test)
    {
        foreach (var cache in Caches) cache.Clear();
    }
}
