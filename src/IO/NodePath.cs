using System.Text;

namespace DeepSharp.IO;

/// <summary>
/// The path of the node a reader or writer is at, one segment per level (a key, or an index when the key is null),
/// spelled out only for a message: building <c>a.b[3]</c> for every node would copy the whole path once per node, which
/// under long keys nested deep is quadratic.
/// </summary>
internal sealed class NodePath
{
    private readonly string?[] _keys = new string?[CheckpointLimits.MaxDepth + 2];
    private readonly int[] _indices = new int[CheckpointLimits.MaxDepth + 2];

    /// <summary>Records the segment that leads to the node at <paramref name="depth"/> (1 or more).</summary>
    public void Set(int depth, string? key, int index)
    {
        _keys[depth] = key;
        _indices[depth] = index;
    }

    /// <summary>The node at <paramref name="depth"/>, quoted as messages show it: <c>'root'</c>, <c>'root[2]'</c>,
    /// <c>'encoder.w'</c>.</summary>
    public string Show(int depth)
    {
        if (depth == 0) return "'root'";
        var sb = new StringBuilder();
        for (int d = 1; d <= depth; d++)
        {
            if (_keys[d] is { } key) sb.Append(d == 1 ? "" : ".").Append(key);
            else sb.Append(d == 1 ? "root" : "").Append('[').Append(_indices[d]).Append(']');
        }
        return CheckpointLimits.Show(sb.ToString());
    }
}
