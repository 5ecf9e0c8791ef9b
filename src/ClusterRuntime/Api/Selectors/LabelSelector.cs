// Label selector parsing and matching: =, ==, !=, in, notin, key, !key (Kubernetes labels.Parse syntax).
namespace Appliance.ClusterRuntime.Api.Selectors;

/// <summary>A parsed label selector; all requirements must hold.</summary>
public sealed class LabelSelector
{
    enum Op { Equals, NotEquals, In, NotIn, Exists, NotExists }

    sealed record Requirement(string Key, Op Op, string[] Values);

    readonly List<Requirement> _requirements = [];

    /// <summary>The selector that matches everything.</summary>
    public static readonly LabelSelector Everything = new();

    /// <summary>True when the selector has no requirements.</summary>
    public bool IsEmpty => _requirements.Count == 0;

    /// <summary>Parses a selector such as <c>app=web,tier in (a,b),!legacy</c>.</summary>
    /// <exception cref="ApiException">400 when the text is malformed.</exception>
    public static LabelSelector Parse(string? text)
    {
        var selector = new LabelSelector();
        if (string.IsNullOrWhiteSpace(text)) return selector;
        int i = 0;
        while (true)
        {
            SkipSpace(text, ref i);
            if (i >= text.Length) break;
            if (text[i] == '!')
            {
                i++;
                var key = ReadKey(text, ref i);
                selector._requirements.Add(new(key, Op.NotExists, []));
            }
            else
            {
                var key = ReadKey(text, ref i);
                SkipSpace(text, ref i);
                if (i >= text.Length || text[i] == ',')
                    selector._requirements.Add(new(key, Op.Exists, []));
                else if (text[i] == '=' )
                {
                    i += i + 1 < text.Length && text[i + 1] == '=' ? 2 : 1;
                    selector._requirements.Add(new(key, Op.Equals, [ReadValue(text, ref i)]));
                }
                else if (text[i] == '!' && i + 1 < text.Length && text[i + 1] == '=')
                {
                    i += 2;
                    selector._requirements.Add(new(key, Op.NotEquals, [ReadValue(text, ref i)]));
                }
                else if (TryWord(text, ref i, "notin"))
                    selector._requirements.Add(new(key, Op.NotIn, ReadSet(text, ref i)));
                else if (TryWord(text, ref i, "in"))
                    selector._requirements.Add(new(key, Op.In, ReadSet(text, ref i)));
                else
                    throw Bad(text, i, "expected one of =, ==, !=, in, notin");
            }
            SkipSpace(text, ref i);
            if (i >= text.Length) break;
            if (text[i] != ',') throw Bad(text, i, "expected ','");
            i++;
        }
        return selector;
    }

    /// <summary>
    /// The selector of a <c>metav1.LabelSelector</c> object (<c>matchLabels</c> and <c>matchExpressions</c> with
    /// In, NotIn, Exists, DoesNotExist). A null object selects nothing (as upstream's nil selector), an empty one
    /// everything; an unknown operator selects nothing.
    /// </summary>
    public static LabelSelector FromObject(System.Text.Json.Nodes.JsonObject? selector)
    {
        var result = new LabelSelector();
        if (selector is null)
        {
            result._requirements.Add(new("", Op.In, []));
            return result;
        }
        if (selector["matchLabels"] is System.Text.Json.Nodes.JsonObject labels)
            foreach (var (key, value) in labels)
                result._requirements.Add(new(key, Op.Equals, [value?.ToString() ?? ""]));
        if (selector["matchExpressions"] is System.Text.Json.Nodes.JsonArray expressions)
            foreach (var e in expressions.OfType<System.Text.Json.Nodes.JsonObject>())
            {
                var key = e["key"]?.ToString() ?? "";
                var values = e["values"] is System.Text.Json.Nodes.JsonArray a ? a.Select(v => v?.ToString() ?? "").ToArray() : [];
                result._requirements.Add(e["operator"]?.ToString() switch
                {
                    "In" => new(key, Op.In, values),
                    "NotIn" => new(key, Op.NotIn, values),
                    "Exists" => new(key, Op.Exists, []),
                    "DoesNotExist" => new(key, Op.NotExists, []),
                    _ => new("", Op.In, []),
                });
            }
        return result;
    }

    /// <summary>True when <paramref name="labels"/> satisfy every requirement.</summary>
    public bool Matches(Func<string, string?> labels)
    {
        foreach (var r in _requirements)
        {
            var v = labels(r.Key);
            bool ok = r.Op switch
            {
                Op.Exists => v is not null,
                Op.NotExists => v is null,
                Op.Equals => v == r.Values[0],
                Op.NotEquals => v != r.Values[0],
                Op.In => v is not null && r.Values.Contains(v),
                Op.NotIn => v is null || !r.Values.Contains(v),
                _ => false,
            };
            if (!ok) return false;
        }
        return true;
    }

    static ApiException Bad(string text, int at, string what) =>
        ApiException.BadRequest($"unable to parse requirement: invalid label selector \"{text}\" at offset {at}: {what}");

    static void SkipSpace(string s, ref int i) { while (i < s.Length && s[i] == ' ') i++; }

    static bool IsKeyChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '/';

    static string ReadKey(string s, ref int i)
    {
        SkipSpace(s, ref i);
        int start = i;
        while (i < s.Length && IsKeyChar(s[i])) i++;
        if (i == start) throw Bad(s, i, "expected a label key");
        var key = s[start..i];
        return key;
    }

    static string ReadValue(string s, ref int i)
    {
        SkipSpace(s, ref i);
        int start = i;
        while (i < s.Length && (char.IsAsciiLetterOrDigit(s[i]) || s[i] is '-' or '_' or '.')) i++;
        return s[start..i];
    }

    static bool TryWord(string s, ref int i, string word)
    {
        if (string.CompareOrdinal(s, i, word, 0, word.Length) != 0) return false;
        int end = i + word.Length;
        if (end < s.Length && s[end] != ' ' && s[end] != '(') return false;
        i = end;
        return true;
    }

    static string[] ReadSet(string s, ref int i)
    {
        SkipSpace(s, ref i);
        if (i >= s.Length || s[i] != '(') throw Bad(s, i, "expected '('");
        i++;
        var values = new List<string>();
        while (true)
        {
            values.Add(ReadValue(s, ref i));
            SkipSpace(s, ref i);
            if (i < s.Length && s[i] == ',') { i++; continue; }
            if (i < s.Length && s[i] == ')') { i++; break; }
            throw Bad(s, i, "expected ',' or ')'");
        }
        return [.. values];
    }
}
