using System.Reflection;

namespace DeepSharp.Tests;

/// <summary>
/// Every way to change a tensor in place (each public in-place method, found by reflection so a new one is covered,
/// <see cref="Tensor.SetData"/>, and the span a CPU tensor hands out for writing) invalidates the gradient rules that
/// saved it: Backward refuses instead of computing a gradient from the new values. Checked on the tensors rules read —
/// cross-entropy labels, a GatherRows index, the constant operand of a product, quotient and matrix product.
/// </summary>
public class InPlaceVersionTests
{
    /// <summary>The public instance methods that write into their receiver.</summary>
    public static MethodInfo[] InPlaceMethods { get; } = typeof(Tensor).GetMethods(BindingFlags.Public | BindingFlags.Instance)
        .Where(m => m.Name.EndsWith("InPlace", StringComparison.Ordinal)
            || m.Name is nameof(Tensor.CopyFrom) or nameof(Tensor.SetData) or nameof(Tensor.AsSpan))
        .OrderBy(m => m.ToString(), StringComparer.Ordinal).ToArray();

    /// <summary>A forward pass whose rule saved <c>Saved</c>; Loss is what Backward starts from.</summary>
    private sealed record Scenario(string Name, Tensor Saved, Func<Tensor> Forward);

    private static IEnumerable<Scenario> Scenarios(Device d)
    {
        var w = Tensor.FromArray(new float[] { 1, -2, 3, 0.5f, 2, -1 }, [2, 3], d).RequiresGradient();
        var k = Tensor.FromArray(new float[] { 2, 3, 4, 5, 6, 7 }, [2, 3], d);
        yield return new("Mul operand", k, () => (w * k).Sum());
        yield return new("Div operand", k, () => (w / k).Sum());
        var x = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, [2, 3], d);
        yield return new("MatMul operand", x, () => x.MatMul(w.T).Sum());
        var labels = Tensor.FromArray(new long[] { 2, 0 }, device: d);
        yield return new("CrossEntropy labels", labels, () => Functional.CrossEntropy(w, labels));
        var sumLabels = Tensor.FromArray(new[] { 1, 2 }, device: d);
        yield return new("CrossEntropy labels (sum, int32)", sumLabels, () => Functional.CrossEntropy(w, sumLabels, Reduction.Sum));
        var noneLabels = Tensor.FromArray(new long[] { 1, 1 }, device: d);
        yield return new("CrossEntropy labels (none)", noneLabels, () => Functional.CrossEntropy(w, noneLabels, Reduction.None).Sum());
        var index = Tensor.FromArray(new long[] { 1, 0, 1 }, device: d);
        yield return new("GatherRows index", index, () => w.GatherRows(index).Sum());
    }

    /// <summary>Calls <paramref name="m"/> on <paramref name="t"/> with arguments that change its values; false when the
    /// method does not apply to t's dtype (float-only methods on integer labels).</summary>
    private static bool Change(MethodInfo m, Tensor t)
    {
        if (m.IsGenericMethodDefinition) return ChangeThroughSpan(m, t);
        var source = t.DType.IsFloat() ? Tensor.Full(t.Shape, 1, t.DType, t.Device) : Tensor.Zeros(t.Shape, t.DType, t.Device);
        var args = m.GetParameters().Select(p => p.ParameterType == typeof(Tensor) ? source : p.ParameterType == typeof(float) ? (object)2f
            : throw new InvalidOperationException($"Add a value for {p.ParameterType.Name} to the in-place test: {m}")).ToArray();
        if (!t.DType.IsFloat() && m.Name is not (nameof(Tensor.CopyFrom) or nameof(Tensor.SetData))) return false;
        m.Invoke(t, args);
        return true;
    }

    /// <summary>The span methods, which reflection cannot call (a span cannot be boxed), called for t's element type.</summary>
    private static bool ChangeThroughSpan(MethodInfo m, Tensor t)
    {
        switch (m.Name, t.DType)
        {
            case (nameof(Tensor.AsSpan), DType.Float32): t.AsSpan<float>()[0] += 1f; return true;
            case (nameof(Tensor.AsSpan), DType.Int32): _ = t.AsSpan<int>(); return true;  // taking it counts: labels stay valid
            case (nameof(Tensor.AsSpan), DType.Int64): _ = t.AsSpan<long>(); return true;
            case (nameof(Tensor.CopyFrom), DType.Float32): t.CopyFrom<float>(new float[t.Count]); return true;
            case (nameof(Tensor.CopyFrom), DType.Int32): t.CopyFrom<int>(new int[t.Count]); return true;
            case (nameof(Tensor.CopyFrom), DType.Int64): t.CopyFrom<long>(new long[t.Count]); return true;
            default: throw new InvalidOperationException($"Add {t.DType} to the in-place test's span methods: {m}");
        }
    }

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var d in TestDevices.Names)
            foreach (var m in InPlaceMethods)
                if (m.Name != nameof(Tensor.AsSpan) || d == "cpu") data.Add(d, m.ToString()!); // a span views host memory only
        return data;
    }

    [Theory, MemberData(nameof(Cases))]
    public void ChangingASavedTensorBetweenForwardAndBackwardIsRefused(string device, string method)
    {
        var d = TestDevices.Use(device);
        var m = InPlaceMethods.Single(x => x.ToString() == method);
        int changed = 0;
        foreach (var s in Scenarios(d))
        {
            // Changed once before the op too: the version it saves is not 0, so new data with version 1 must not pass for it.
            if (!Change(m, s.Saved)) continue;
            var loss = s.Forward();
            Change(m, s.Saved);
            var e = Assert.Throws<InvalidOperationException>(() => loss.Backward());
            Assert.Contains("Backward", e.Message);
            Assert.True(e.Message.Contains("in place") || e.Message.Contains("SetData"), $"{s.Name}, {method}: {e.Message}");
            changed++;
        }
        Assert.True(changed >= 2, $"{method} changed only {changed} scenarios");
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void UnchangedSavedTensorsStillGiveGradients(string device)
    {
        var d = TestDevices.Use(device);
        foreach (var s in Scenarios(d)) s.Forward().Backward(); // the scenarios are valid as they stand
        // New data for a tensor a graph saved as the *source* of SetData does not invalidate that graph: its data is unchanged.
        var w = Tensor.FromArray(new float[] { 1, 2 }, device: d).RequiresGradient();
        var k = Tensor.FromArray(new float[] { 3, 4 }, device: d);
        var loss = (w * k).Sum();
        Tensor.Zeros([2], device: d).SetData(k);
        loss.Backward();
        Assert.Equal([3f, 4f], w.Grad!.ToArray<float>());
    }

    [Fact]
    public void EveryInPlaceMethodIsCovered()
    {
        // The reflection above finds them; this guards against a rename that would hide one from it.
        var names = InPlaceMethods.Select(m => m.Name).Distinct().ToArray();
        foreach (var expected in new[] { "AddInPlace", "SubInPlace", "MulInPlace", "FillInPlace", "ZeroInPlace", "CopyFrom", "SetData",
                     "AsSpan" })
            Assert.Contains(expected, names);
    }
}
