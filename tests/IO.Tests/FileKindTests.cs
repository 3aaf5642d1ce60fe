using DeepSharp.IO;

namespace DeepSharp.IO.Tests;

/// <summary>A file that is not a checkpoint is identified as exactly one kind (so the user knows which loader it needs),
/// whatever its first bytes, however few.</summary>
public class FileKindTests
{
    // What each kind's message says; a file's message must say exactly one of them.
    private static readonly (string Kind, string Says)[] Kinds =
    [
        ("empty", "is empty"), ("zip", "zip archive"), ("safetensors", "safetensors"), ("text", "is text"),
        ("magic bytes", "magic bytes"),
    ];

    public static TheoryData<byte[], string> Files => new()
    {
        { [], "empty" },
        { "PK\x03\x04"u8.ToArray(), "zip" },
        { "PK\x03\x04\x14\x00\x00\x00\x08\x00"u8.ToArray(), "zip" },
        { "PK\x03"u8.ToArray(), "magic bytes" },                            // too short to be a zip
        { "P"u8.ToArray(), "text" },
        { [16, 0, 0, 0, 0, 0, 0, 0, (byte)'{', (byte)'"'], "safetensors" },
        { [0, 0, 0, 0, 1, 0, 0, 0, (byte)'{', (byte)'"'], "magic bytes" },  // a 4 GiB "header size": not safetensors
        { "line one\nline two\r\n\ttab"u8.ToArray(), "text" },
        { "plain text"u8.ToArray(), "text" },
        { "text\x01with a control byte"u8.ToArray(), "magic bytes" },
        { "text with DEL\x7f"u8.ToArray(), "magic bytes" },
        { [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A], "magic bytes" },
    };

    [Theory, MemberData(nameof(Files))]
    public void IsIdentifiedAsOneKind(byte[] file, string kind)
    {
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Read(new MemoryStream(file)));
        Assert.Equal(0, e.Offset);
        Assert.Equal([kind], Kinds.Where(k => e.Message.Contains(k.Says, StringComparison.Ordinal)).Select(k => k.Kind));
    }
}
