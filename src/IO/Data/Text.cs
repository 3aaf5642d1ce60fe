using System.Text;

namespace DeepSharp.Data;

/// <summary>What a token of <see cref="Text.Tokenize"/> is.</summary>
public enum TokenKind
{
    /// <summary>A word: a run of characters between white space (Python's <c>str.split()</c>).</summary>
    Word,
    /// <summary>One character (one Unicode scalar value, so a surrogate pair is one token).</summary>
    Char,
}

/// <summary>
/// Text preprocessing for language models (Dive into Deep Learning §9.2): read lines, keep the letters, cut them into
/// tokens. A corpus is then <c>vocab.Encode(tokens.SelectMany(line =&gt; line))</c> (see <see cref="Vocab"/>).
/// </summary>
public static class Text
{
    /// <summary>
    /// The book's preprocessing of <i>The Time Machine</i>: every run of characters other than the ASCII letters A–Z and
    /// a–z becomes one space, the ends are trimmed, and the letters are lower-cased (Python's
    /// <c>re.sub('[^A-Za-z]+', ' ', line).strip().lower()</c>). "It's 1895!" → "it s".
    /// </summary>
    /// <exception cref="ArgumentNullException">line is null.</exception>
    public static string LettersOnly(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        var sb = new StringBuilder(line.Length);
        bool gap = false;
        foreach (char c in line)
        {
            if (char.IsAsciiLetter(c))
            {
                if (gap && sb.Length > 0) sb.Append(' ');
                gap = false;
                sb.Append(char.ToLowerInvariant(c));
            }
            else gap = true;
        }
        return sb.ToString();
    }

    /// <summary>The lines of the text file at <paramref name="path"/> (UTF-8), each through <see cref="LettersOnly"/>;
    /// empty lines are kept (as empty strings), as the book keeps them.</summary>
    /// <exception cref="ArgumentNullException">path is null.</exception>
    /// <exception cref="IOException">The file cannot be read (<see cref="FileNotFoundException"/> names the path).</exception>
    public static string[] ReadLettersOnly(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return File.ReadAllLines(path, Encoding.UTF8).Select(LettersOnly).ToArray();
    }

    /// <summary>
    /// Cuts each line into tokens (the book's <c>tokenize</c>): words split at white space, or characters (spaces
    /// included). A line with no tokens gives an empty array; the result has one array per line, in order.
    /// </summary>
    /// <exception cref="ArgumentNullException">lines or one of its elements is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">kind is not a <see cref="TokenKind"/>.</exception>
    public static string[][] Tokenize(IEnumerable<string> lines, TokenKind kind = TokenKind.Word)
    {
        ArgumentNullException.ThrowIfNull(lines);
        if (!Enum.IsDefined(kind))
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "Text.Tokenize: kind must be TokenKind.Word or TokenKind.Char.");
        return lines.Select((line, i) => line is null
                ? throw new ArgumentNullException(nameof(lines), $"Text.Tokenize: line {i} is null.")
                : kind == TokenKind.Word
                    ? line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)
                    : line.EnumerateRunes().Select(r => r.ToString()).ToArray())
            .ToArray();
    }
}
