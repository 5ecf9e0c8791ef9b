// $(VAR) references in env values, command and args, as upstream's third_party/forked/golang/expansion does.
namespace Appliance.ClusterRuntime.Agent.Kubelet.Env;

/// <summary>
/// Expands <c>$(NAME)</c> from a lookup; an unknown name stays as written, <c>$$</c> is a literal <c>$</c>, and a
/// <c>$</c> before anything else (or an unclosed <c>$(</c>) is kept. Not recursive: an expanded value is not rescanned.
/// </summary>
public static class EnvExpansion
{
    /// <summary>Expands <paramref name="input"/> with <paramref name="lookup"/> (null: leave the reference as written).</summary>
    public static string Expand(string input, Func<string, string?> lookup)
    {
        var sb = new System.Text.StringBuilder(input.Length);
        int checkpoint = 0;
        for (int cursor = 0; cursor < input.Length; cursor++)
        {
            if (input[cursor] != '$' || cursor + 1 >= input.Length) continue;
            sb.Append(input, checkpoint, cursor - checkpoint);
            char next = input[cursor + 1];
            int advance = 1;
            if (next == '$') sb.Append('$');
            else if (next == '(' && input.IndexOf(')', cursor + 2) is var close and >= 0)
            {
                var name = input[(cursor + 2)..close];
                sb.Append(lookup(name) ?? "$(" + name + ")");
                advance = close - cursor;
            }
            else sb.Append('$').Append(next);
            cursor += advance;
            checkpoint = cursor + 1;
        }
        return sb.Append(input, checkpoint, input.Length - checkpoint).ToString();
    }

    /// <summary>Expands with an environment list; the last entry of a name wins.</summary>
    public static string Expand(string input, IReadOnlyList<KeyValuePair<string, string>> env)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in env) map[k] = v;
        return Expand(input, n => map.GetValueOrDefault(n));
    }
}
