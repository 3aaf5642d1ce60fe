using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Numerics;

/// <summary>
/// The training apps' command lines (System.CommandLine): typed options whose <c>--help</c> line shows the default, values
/// checked while parsing, and a bad command line answered with one line on standard error and exit code 2.
/// </summary>
public static class Cli
{
    /// <summary>A number option checked by <paramref name="ok"/>; <paramref name="rule"/> completes "--name must be …".</summary>
    public static Option<T> Number<T>(string name, T value, Func<T, bool> ok, string rule, string description, string helpName = "N")
        where T : INumber<T>
    {
        bool whole = T.IsInteger(T.One / (T.One + T.One)); // 1/2 truncates to 0 for integer types
        return new Option<T>(name)
        {
            Description = description,
            HelpName = helpName,
            DefaultValueFactory = _ => value,
            CustomParser = r =>
            {
                string text = r.Tokens.Count > 0 ? r.Tokens[^1].Value : "";
                if (!T.TryParse(text, whole ? NumberStyles.Integer : NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
                {
                    r.AddError($"{name} must be {rule}, got '{text}'.");
                    return value;
                }
                if (!ok(v)) r.AddError($"{name} must be {rule}, got '{text}'.");
                return v;
            },
        };
    }

    /// <summary>A whole number ≥ <paramref name="min"/>.</summary>
    public static Option<int> Int(string name, int value, int min, string description) =>
        Number(name, value, v => v >= min, $"a whole number ≥ {min}", description);

    /// <summary>A finite number &gt; 0.</summary>
    public static Option<float> Positive(string name, float value, string description, string helpName = "X") =>
        Number(name, value, v => v > 0 && float.IsFinite(v), "a number > 0", description, helpName);

    /// <summary>One of <paramref name="choices"/>.</summary>
    public static Option<string> Choice(string name, string value, string[] choices, string description) => new(name)
    {
        Description = description,
        HelpName = string.Join('|', choices),
        DefaultValueFactory = _ => value,
        CustomParser = r =>
        {
            string text = r.Tokens.Count > 0 ? r.Tokens[^1].Value : "";
            if (Array.IndexOf(choices, text) >= 0) return text;
            r.AddError($"{name} must be {string.Join(" or ", choices)}, got '{text}'.");
            return value;
        },
    };

    /// <summary>A switch that is off unless given (the help shows no default for a switch, so the description says it).</summary>
    public static Option<bool> Flag(string name, string description) => new(name) { Description = description + " [default: off]" };

    /// <summary>A text option with a default.</summary>
    public static Option<string> Text(string name, string value, string description, string helpName) =>
        new(name) { Description = description, HelpName = helpName, DefaultValueFactory = _ => value };

    /// <summary>A folder that must exist; null when not given.</summary>
    public static Option<string?> ExistingFolder(string name, string description)
    {
        var o = new Option<string?>(name) { Description = description, HelpName = "FOLDER" };
        o.Validators.Add(r =>
        {
            string? path = r.Tokens.Count > 0 ? r.Tokens[^1].Value : null;
            if (path is not null && !Directory.Exists(path)) r.AddError($"{name} {path}: no such folder.");
        });
        return o;
    }

    /// <summary>A file that must exist; null when not given.</summary>
    public static Option<string?> ExistingFile(string name, string description)
    {
        var o = new Option<string?>(name) { Description = description, HelpName = "FILE" };
        o.Validators.Add(r =>
        {
            string? path = r.Tokens.Count > 0 ? r.Tokens[^1].Value : null;
            if (path is not null && !File.Exists(path)) r.AddError($"{name} {path}: no such file.");
        });
        return o;
    }

    /// <summary><c>--device</c>: a device name this machine has; null (the best device) when not given.</summary>
    public static Option<string?> Device()
    {
        var o = new Option<string?>("--device")
        {
            Description = "cpu, cuda:0, opencl:0 or ilgpu-cpu (examples/Devices lists them) [default: the first GPU, CUDA " +
                "then OpenCL, else cpu]",
            HelpName = "NAME",
        };
        o.Validators.Add(r =>
        {
            string text = r.Tokens.Count > 0 ? r.Tokens[^1].Value : "";
            DeepSharp.Device d;
            try { d = DeepSharp.Device.Parse(text); }
            catch (FormatException e) { r.AddError($"--device: {e.Message}"); return; }
            if (!d.IsAvailable)
                r.AddError($"--device {d}: this machine has no such device; it has " +
                    $"{string.Join(", ", DeepSharp.Device.List().Select(i => i.Device))}.");
        });
        return o;
    }

    /// <summary>
    /// Parses <paramref name="args"/>: null when the app should run, else its exit code — 0 after printing the help
    /// (<c>--help</c>), 2 after printing the command line's first problem on one line of standard error.
    /// </summary>
    public static int? Parse(RootCommand root, string[] args, out ParseResult result)
    {
        result = root.Parse(args);
        // Without errors, an action is --help's or --version's (the apps set none of their own).
        if (result.Errors.Count == 0) return result.Action is null ? null : result.Invoke();
        string first = result.Errors[0].Message.ReplaceLineEndings(" ").Replace('\t', ' ');
        Console.Error.WriteLine($"{root.Name}: {first} (--help lists the options)");
        return 2;
    }
}
