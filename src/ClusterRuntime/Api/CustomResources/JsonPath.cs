// The simple JSONPath subset CRDs use for printer columns and scale paths: .field.field[index] (optionally in braces).
using System.Text.Json.Nodes;

namespace Appliance.ClusterRuntime.Api.CustomResources;

/// <summary>A parsed path such as <c>.spec.replicas</c> or <c>.status.conditions[0].type</c>.</summary>
public sealed class JsonPath
{
    readonly (string? Field, int Index)[] _steps;

    JsonPath((string?, int)[] steps) => _steps = steps;

    /// <summary>
    /// Parses <paramref name="path"/>; null when it is not a chain of <c>.name</c> and <c>[n]</c> steps (filters,
    /// wildcards and recursive descent are not part of the subset, as upstream refuses them for scale paths).
    /// </summary>
    public static JsonPath? Parse(string path)
    {
        var p = path.Trim();
        if (p.StartsWith('{') && p.EndsWith('}')) p = p[1..^1].Trim();
        if (p.Length < 2 || p[0] != '.') return null;
        var steps = new List<(string?, int)>();
        int i = 0;
        while (i < p.Length)
        {
            if (p[i] == '.')
            {
                int start = ++i;
                while (i < p.Length && (char.IsAsciiLetterOrDigit(p[i]) || p[i] is '_' or '-')) i++;
                if (i == start) return null;
                steps.Add((p[start..i], 0));
            }
            else if (p[i] == '[')
            {
                int close = p.IndexOf(']', i);
                if (close < 0 || !int.TryParse(p.AsSpan(i + 1, close - i - 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index)) return null;
                steps.Add((null, index));
                i = close + 1;
            }
            else return null;
        }
        return new JsonPath(steps.ToArray());
    }

    /// <summary>The value at this path, or null when any step is missing.</summary>
    public JsonNode? Get(JsonNode? node)
    {
        foreach (var (field, index) in _steps)
            node = field is not null ? (node as JsonObject)?[field] : node is JsonArray a && index < a.Count ? a[index] : null;
        return node;
    }

    /// <summary>Sets the value at this path, making missing objects on the way (fields only; false when an index is in the way).</summary>
    public bool Set(JsonObject root, JsonNode? value)
    {
        JsonObject cur = root;
        for (int i = 0; i < _steps.Length; i++)
        {
            var field = _steps[i].Field;
            if (field is null) return false;
            if (i == _steps.Length - 1)
            {
                cur[field] = value;
                return true;
            }
            if (cur[field] is not JsonObject next) cur[field] = next = new JsonObject();
            cur = next;
        }
        return false;
    }
}
