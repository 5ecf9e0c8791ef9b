// Reads an auto-deploy manifest file (multi-document YAML or JSON, List kinds expanded) into API objects.
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Appliance.ClusterRuntime.Controllers.Manifests;

/// <summary>
/// Turns a manifest file's text into objects: every non-empty YAML document (or the one JSON value) is an object,
/// and a <c>*List</c> with <c>items</c> gives its items. Plain YAML scalars are typed as sigs.k8s.io/yaml (YAML 1.1,
/// which kubectl reads with) types them: <c>true/false/yes/no/on/off</c> are booleans, <c>null</c>/<c>~</c>/empty are
/// null, integers and floats are numbers; quoted scalars are strings.
/// </summary>
public static class ManifestReader
{
    /// <summary>The objects of <paramref name="text"/>.</summary>
    /// <exception cref="InvalidDataException">Not YAML/JSON, or a document that is not an object; the message has line:column.</exception>
    public static List<JsonObject> Read(string text, bool json) => Read(text, json, null);

    /// <summary>
    /// The objects of <paramref name="text"/>; with <paramref name="duplicates"/> (YAML only), keys given twice in a
    /// mapping are listed there by path (<c>spec.replicas</c>) and the last one wins, instead of failing the read.
    /// </summary>
    public static List<JsonObject> Read(string text, bool json, List<string>? duplicates)
    {
        var docs = json ? [ParseJson(text)] : ParseYaml(text, duplicates);
        var objects = new List<JsonObject>();
        foreach (var (node, line) in docs)
        {
            if (node is null) continue;
            if (node is not JsonObject obj) throw new InvalidDataException($"line {line}: a document is {Describe(node)}, not an object");
            if (obj["kind"] is JsonValue k && k.TryGetValue<string>(out var kind) && kind.EndsWith("List", StringComparison.Ordinal) && obj["items"] is JsonArray items)
            {
                for (int i = 0; i < items.Count; i++)
                    objects.Add(items[i] as JsonObject ?? throw new InvalidDataException($"line {line}: {kind} items[{i}] is {Describe(items[i])}, not an object"));
            }
            else objects.Add(obj);
        }
        return objects;
    }

    static string Describe(JsonNode? n) => n switch
    {
        null => "null",
        JsonArray => "a list",
        JsonValue v when v.GetValueKind() == JsonValueKind.String => "a string",
        _ => "a " + n.GetValueKind().ToString().ToLowerInvariant(),
    };

    static (JsonNode?, long) ParseJson(string text)
    {
        try
        {
            return (JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip }), 1);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"line {(e.LineNumber ?? 0) + 1}:{(e.BytePositionInLine ?? 0) + 1}: JSON syntax error: {e.Message.Split(" LineNumber:")[0]}");
        }
    }

    static List<(JsonNode?, long)> ParseYaml(string text, List<string>? duplicates)
    {
        var parser = new Parser(new StringReader(text));
        var docs = new List<(JsonNode?, long)>();
        try
        {
            parser.Consume<StreamStart>();
            while (parser.TryConsume<DocumentStart>(out var start))
            {
                var node = parser.Accept<DocumentEnd>(out _) ? null : ReadNode(parser, "", duplicates);
                parser.Consume<DocumentEnd>();
                docs.Add((node, start.Start.Line));
            }
            parser.Consume<StreamEnd>();
        }
        catch (YamlException e)
        {
            throw new InvalidDataException($"line {e.Start.Line}:{e.Start.Column}: YAML syntax error: {e.Message}");
        }
        catch (InvalidOperationException)
        {
            var at = parser.Current?.Start ?? Mark.Empty;
            throw new InvalidDataException($"line {at.Line}:{at.Column}: YAML syntax error: unreadable YAML after this point (is a '[', '{{' or quote left open?)");
        }
        return docs;
    }

    static JsonNode? ReadNode(IParser parser, string path, List<string>? duplicates)
    {
        if (parser.TryConsume<Scalar>(out var scalar)) return ScalarNode(scalar);
        if (parser.TryConsume<SequenceStart>(out _))
        {
            var array = new JsonArray();
            while (!parser.TryConsume<SequenceEnd>(out _)) array.Add(ReadNode(parser, $"{path}[{array.Count}]", duplicates));
            return array;
        }
        if (parser.TryConsume<MappingStart>(out _))
        {
            var obj = new JsonObject();
            while (!parser.TryConsume<MappingEnd>(out _))
            {
                var keyAt = parser.Current?.Start ?? Mark.Empty;
                var key = parser.Consume<Scalar>().Value;
                var at = path.Length == 0 ? key : $"{path}.{key}";
                var value = ReadNode(parser, at, duplicates);
                if (obj.ContainsKey(key))
                {
                    if (duplicates is null) throw new InvalidDataException($"line {keyAt.Line}:{keyAt.Column}: duplicate key \"{key}\"");
                    duplicates.Add(at);
                }
                obj[key] = value;
            }
            return obj;
        }
        var ev = parser.Current;
        throw new InvalidDataException($"line {ev?.Start.Line}:{ev?.Start.Column}: YAML anchors and aliases are not supported here");
    }

    static JsonNode? ScalarNode(Scalar s)
    {
        if (!s.IsPlainImplicit || s.Style != ScalarStyle.Plain) return JsonValue.Create(s.Value);
        var v = s.Value;
        switch (v)
        {
            case "" or "~" or "null" or "Null" or "NULL": return null;
            case "true" or "True" or "TRUE" or "yes" or "Yes" or "YES" or "on" or "On" or "ON" or "y" or "Y": return JsonValue.Create(true);
            case "false" or "False" or "FALSE" or "no" or "No" or "NO" or "off" or "Off" or "OFF" or "n" or "N": return JsonValue.Create(false);
        }
        if (long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) return JsonValue.Create(l);
        if (v.StartsWith("0x", StringComparison.Ordinal) && long.TryParse(v[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex)) return JsonValue.Create(hex);
        if (v.Length > 0 && (char.IsDigit(v[0]) || v[0] is '-' or '+' or '.') && v.Any(char.IsDigit)
            && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d)) return JsonValue.Create(d);
        return JsonValue.Create(v);
    }
}
