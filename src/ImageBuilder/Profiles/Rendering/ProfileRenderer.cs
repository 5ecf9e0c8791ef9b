// Renders a merged profile as YAML or JSON, with secret fields redacted.
using System.Collections;
using System.Text;
using System.Text.Json;
using Appliance.ImageBuilder.Profiles.Binding;
using Appliance.ImageBuilder.Profiles.Model;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Appliance.ImageBuilder.Profiles.Rendering;

/// <summary>
/// Turns a <see cref="SiteProfile"/> into text. Defaults are written out, secret fields become
/// <see cref="SecretRedactor.Marker"/>, and paths are shown relative to the rendered profile's directory.
/// </summary>
public sealed class ProfileRenderer(string profileDirectory)
{
    /// <summary>The profile as a YAML document.</summary>
    public string ToYaml(SiteProfile profile)
    {
        var sw = new StringWriter { NewLine = "\n" };
        var emitter = new Emitter(sw);
        emitter.Emit(new StreamStart());
        emitter.Emit(new DocumentStart());
        EmitYaml(emitter, ToTree(profile));
        emitter.Emit(new DocumentEnd(true));
        emitter.Emit(new StreamEnd());
        return sw.ToString();
    }

    /// <summary>The profile as an indented JSON object.</summary>
    public string ToJson(SiteProfile profile)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            WriteJson(w, ToTree(profile));
        return Encoding.UTF8.GetString(ms.ToArray()) + "\n";
    }

    /// <summary>A plain tree: ordered mappings, lists, strings and booleans.</summary>
    internal object ToTree(object model)
    {
        var map = new List<KeyValuePair<string, object>>();
        foreach (var (prop, field) in ModelBinder.FieldsOf(model.GetType()))
        {
            var value = prop.GetValue(model);
            if (value is null) continue;
            if (field.Secret)
            {
                map.Add(new(field.Name, SecretRedactor.Marker));
                continue;
            }
            if (value is ICollection { Count: 0 }) continue;
            map.Add(new(field.Name, Value(value)));
        }
        return map;
    }

    private object Value(object value) => value switch
    {
        ProfilePath p => Path.GetRelativePath(profileDirectory, p.FullPath).Replace('\\', '/'),
        Dictionary<string, string> d => d.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => new KeyValuePair<string, object>(kv.Key, kv.Value)).ToList(),
        IList list => list.Cast<object>().Select(Value).ToList(),
        _ when ScalarTypes.IsScalar(value.GetType()) => ScalarTypes.Render(value),
        _ => ToTree(value),
    };

    private static void EmitYaml(IEmitter e, object node)
    {
        switch (node)
        {
            case List<KeyValuePair<string, object>> map:
                e.Emit(new MappingStart());
                foreach (var (k, v) in map)
                {
                    e.Emit(new Scalar(k));
                    EmitYaml(e, v);
                }
                e.Emit(new MappingEnd());
                break;
            case List<object> list:
                e.Emit(new SequenceStart(AnchorName.Empty, TagName.Empty, true, SequenceStyle.Block));
                foreach (var v in list)
                    EmitYaml(e, v);
                e.Emit(new SequenceEnd());
                break;
            case bool b:
                e.Emit(new Scalar(AnchorName.Empty, TagName.Empty, b ? "true" : "false", ScalarStyle.Plain, true, false));
                break;
            default:
                var s = node.ToString() ?? "";
                // Quote anything a YAML reader would not read back as this exact string.
                var style = NeedsQuotes(s) ? ScalarStyle.DoubleQuoted : ScalarStyle.Any;
                e.Emit(new Scalar(AnchorName.Empty, TagName.Empty, s, style, true, true));
                break;
        }
    }

    private static bool NeedsQuotes(string s) =>
        s.Length == 0 || s.ToLowerInvariant() is "true" or "false" or "null" or "~" or "yes" or "no" or "on" or "off" or "y" or "n"
        || double.TryParse(s, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out _)
        || s.StartsWith("0x", StringComparison.OrdinalIgnoreCase) || s.StartsWith("0o", StringComparison.OrdinalIgnoreCase);

    private static void WriteJson(Utf8JsonWriter w, object node)
    {
        switch (node)
        {
            case List<KeyValuePair<string, object>> map:
                w.WriteStartObject();
                foreach (var (k, v) in map)
                {
                    w.WritePropertyName(k);
                    WriteJson(w, v);
                }
                w.WriteEndObject();
                break;
            case List<object> list:
                w.WriteStartArray();
                foreach (var v in list)
                    WriteJson(w, v);
                w.WriteEndArray();
                break;
            case bool b:
                w.WriteBooleanValue(b);
                break;
            default:
                w.WriteStringValue(node.ToString());
                break;
        }
    }
}
