using DeepSharp.Data;

namespace DeepSharp.IO.Tests;

/// <summary>Tokenizer, vocabulary and the book's two ways of cutting a corpus into minibatches (Dive into Deep Learning
/// §9.2–9.3), on hand-checked small corpora and on The Time Machine itself.</summary>
public class TextTests
{
    private static readonly string TimeMachine = Path.Combine(AppContext.BaseDirectory, "data", "timemachine.txt");

    [Fact]
    public void LettersOnlyIsTheBooksPreprocessing()
    {
        Assert.Equal("it s", Text.LettersOnly("It's 1895!"));
        Assert.Equal("the time machine by h g wells", Text.LettersOnly("  The Time Machine, by H. G. Wells [1898]  "));
        Assert.Equal("", Text.LettersOnly("1895 -- *"));
        Assert.Equal("caf", Text.LettersOnly("Café"));
        Assert.Throws<ArgumentNullException>(() => Text.LettersOnly(null!));
    }

    [Fact]
    public void TokenizeCutsWordsOrCharacters()
    {
        var words = Text.Tokenize(["the time  machine", "", "by wells"]);
        Assert.Equal(3, words.Length);
        Assert.Equal(["the", "time", "machine"], words[0]);
        Assert.Empty(words[1]);
        Assert.Equal(["by", "wells"], words[2]);
        var chars = Text.Tokenize(["a b", "😀x"], TokenKind.Char);
        Assert.Equal(["a", " ", "b"], chars[0]);
        Assert.Equal(["😀", "x"], chars[1]);
        var e = Assert.Throws<ArgumentNullException>(() => Text.Tokenize(["a", null!]));
        Assert.Contains("line 1", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Text.Tokenize(["a"], (TokenKind)7));
    }

    [Fact]
    public void VocabOrdersByFrequencyThenFirstOccurrence()
    {
        // counts: b 3, a 2, c 2, d 1 (c and a tie; a comes first in the text).
        var vocab = new Vocab(["b", "c", "a", "b", "a", "c", "b", "d"]);
        Assert.Equal(["<unk>", "b", "c", "a", "d"], vocab.Tokens);
        Assert.Equal(5, vocab.Count);
        Assert.Equal(1, vocab["b"]);
        Assert.Equal(0, vocab["zebra"]);
        Assert.Equal(0, vocab[Vocab.Unknown]);
        Assert.Equal([KeyValuePair.Create("b", 3), KeyValuePair.Create("c", 2), KeyValuePair.Create("a", 2),
            KeyValuePair.Create("d", 1)], vocab.TokenFrequencies);
        Assert.True(vocab.Contains("d"));
        Assert.False(vocab.Contains("e"));
    }

    [Fact]
    public void VocabMinFreqAndReservedTokens()
    {
        string[][] lines = [["x", "y", "x"], ["z", "x", "y"]];
        var vocab = new Vocab(lines, minFreq: 2, reservedTokens: ["<pad>", "<bos>"]);
        Assert.Equal(["<unk>", "<pad>", "<bos>", "x", "y"], vocab.Tokens);
        Assert.Equal(0, vocab["z"]); // seen once: below minFreq
        Assert.Equal(1, vocab["<pad>"]);
        Assert.Equal(3, vocab.TokenFrequencies.Count); // left-out tokens keep their counts
        Assert.Equal(["<unk>", "x", "y", "z"], new Vocab(lines, minFreq: 1).Tokens);
        Assert.Equal(["<unk>", "x"], new Vocab(lines, minFreq: 3).Tokens);
        // A reserved token that also occurs keeps its reserved index and appears once.
        Assert.Equal(["<unk>", "y", "x", "z"], new Vocab(lines, reservedTokens: ["y"]).Tokens);
        var dup = Assert.Throws<ArgumentException>(() => new Vocab(lines, reservedTokens: ["<pad>", "<pad>"]));
        Assert.Contains("<pad>", dup.Message);
        Assert.Throws<ArgumentException>(() => new Vocab(lines, reservedTokens: [Vocab.Unknown]));
        var neg = Assert.Throws<ArgumentOutOfRangeException>(() => new Vocab(lines, minFreq: -1));
        Assert.Equal("minFreq", neg.ParamName);
        Assert.Throws<ArgumentNullException>(() => new Vocab(["a", null!]));
    }

    [Fact]
    public void EncodeDecodeRoundTripAndUnknowns()
    {
        var tokens = Text.Tokenize(["the cat sat on the mat"]).SelectMany(l => l).ToArray();
        var vocab = new Vocab(tokens);
        var ids = vocab.Encode(tokens);
        Assert.Equal(1, ids[0]); // "the", the most frequent
        Assert.Equal(tokens, vocab.Decode(ids));
        Assert.Equal(tokens, vocab.Decode(ids.Select(i => (long)i)));
        Assert.Equal([1, 0, 0], vocab.Encode(["the", "dog", "THE"]));
        Assert.Equal([Vocab.Unknown], vocab.Decode([0]));
        foreach (long bad in new long[] { -1, vocab.Count })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => vocab.ToToken(bad));
            Assert.Equal("index", e.ParamName);
            Assert.Contains($"index {bad}", e.Message);
            Assert.Contains($"{vocab.Count} tokens", e.Message);
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => vocab.Decode([1, 99]));
    }

    [Fact]
    public void TimeMachineHasTheBooksCounts()
    {
        var lines = Text.ReadLettersOnly(TimeMachine);
        Assert.Equal(3221, lines.Length);
        var chars = Text.Tokenize(lines, TokenKind.Char);
        var charVocab = new Vocab(chars);
        Assert.Equal(28, charVocab.Count); // 26 letters, space, <unk>
        Assert.Equal(" ", charVocab.ToToken(1));
        Assert.Equal("e", charVocab.ToToken(2));
        var corpus = charVocab.Encode(chars.SelectMany(l => l));
        Assert.Equal(170_580, corpus.Length);
        Assert.DoesNotContain(0, corpus);
        var words = new Vocab(Text.Tokenize(lines));
        Assert.Equal(4580, words.Count);
        Assert.Equal(["<unk>", "the", "i", "and", "of", "a", "to", "was", "in", "that"], words.Tokens.Take(10));
        Assert.Equal(2261, words.TokenFrequencies[0].Value);
        Assert.Equal(32_775, words.TokenFrequencies.Sum(p => p.Value));
    }
}
