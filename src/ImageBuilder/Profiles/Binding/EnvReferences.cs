// Resolves ${env:NAME} and ${env:NAME:-default} inside scalar values.
using System.Text;
using System.Text.RegularExpressions;

namespace Appliance.ImageBuilder.Profiles.Binding;

/// <summary>
/// Substitutes <c>${env:NAME}</c> and <c>${env:NAME:-default}</c> references. <c>$${</c> writes a literal <c>${</c>.
/// </summary>
public static partial class EnvReferences
{
    [GeneratedRegex(@"\G\$\{env:(?<name>[A-Za-z_][A-Za-z0-9_]*)(?<def>:-(?<value>[^}]*))?\}")]
    private static partial Regex Reference();

    [GeneratedRegex("TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|PRIVATE|KEY", RegexOptions.IgnoreCase)]
    private static partial Regex SecretName();

    /// <summary>True when a variable's name says it holds a secret (TOKEN, SECRET, PASSWORD, KEY, ...).</summary>
    public static bool IsSecretName(string name) => SecretName().IsMatch(name);

    /// <summary>The result of resolving one scalar.</summary>
    /// <param name="Value">The text with every reference replaced, or null when one could not be resolved.</param>
    /// <param name="Error">Why it could not be resolved.</param>
    /// <param name="Variables">Variables that were read, with the value each contributed.</param>
    public sealed record Result(string? Value, string? Error, IReadOnlyList<(string Name, string Value)> Variables);

    /// <summary>Resolves every reference in <paramref name="text"/>.</summary>
    public static Result Resolve(string text, Func<string, string?> getEnvironment)
    {
        if (!text.Contains("${", StringComparison.Ordinal))
            return new Result(text, null, []);
        var sb = new StringBuilder();
        var used = new List<(string, string)>();
        int i = 0;
        while (i < text.Length)
        {
            if (text[i] == '$' && i + 2 < text.Length && text[i + 1] == '$' && text[i + 2] == '{')
            {
                sb.Append("${");
                i += 3;
                continue;
            }
            if (text[i] == '$' && i + 1 < text.Length && text[i + 1] == '{')
            {
                var m = Reference().Match(text, i);
                if (!m.Success)
                {
                    var end = text.IndexOf('}', i);
                    var shown = end < 0 ? text[i..] : text[i..(end + 1)];
                    return new Result(null, $"bad reference '{shown}'; write ${{env:NAME}} or ${{env:NAME:-default}} (and $${{ for a literal ${{)", used);
                }
                var name = m.Groups["name"].Value;
                var value = getEnvironment(name);
                if (value is null or "" && m.Groups["def"].Success)
                    value = m.Groups["value"].Value;
                if (value is null)
                    return new Result(null, $"environment variable {name} is not set (give a default with ${{env:{name}:-VALUE}})", used);
                used.Add((name, value));
                sb.Append(value);
                i += m.Length;
                continue;
            }
            sb.Append(text[i++]);
        }
        return new Result(sb.ToString(), null, used);
    }
}
