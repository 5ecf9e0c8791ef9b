// An in-toto Statement v1 (in-toto attestation spec, statement.md): subjects, predicateType, predicate.
using System.Text.Json;

namespace Appliance.ImageBuilder.Signing.InToto;

/// <summary>One subject of a statement: a name and its SHA-256 (lower-case hex).</summary>
public sealed record StatementSubject(string Name, string Sha256);

/// <summary>A parsed statement: its subjects and predicate type, plus the raw JSON it came from.</summary>
public sealed record Statement(IReadOnlyList<StatementSubject> Subjects, string PredicateType, byte[] Json)
{
    /// <summary>The statement type URI.</summary>
    public const string Type = "https://in-toto.io/Statement/v1";

    /// <summary>Writes a statement over one subject with <paramref name="provenance"/> as its SLSA predicate (compact JSON).</summary>
    public static byte[] Write(StatementSubject subject, Provenance provenance) => Io.Json.Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("_type", Type);
        w.WriteStartArray("subject");
        w.WriteStartObject();
        w.WriteString("name", subject.Name);
        w.WriteStartObject("digest");
        w.WriteString("sha256", subject.Sha256);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteString("predicateType", Provenance.PredicateType);
        w.WritePropertyName("predicate");
        provenance.WritePredicate(w);
        w.WriteEndObject();
    }, indented: false);

    /// <summary>
    /// Parses a statement payload. Throws <see cref="InvalidDataException"/> naming the field when it is not
    /// an in-toto Statement v1 with sha256 subjects.
    /// </summary>
    public static Statement Parse(byte[] json)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"dsseEnvelope.payload: not JSON ({e.Message})", e);
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException("dsseEnvelope.payload: not a JSON object");
            var type = root.TryGetProperty("_type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            if (type != Type)
                throw new InvalidDataException($"dsseEnvelope.payload._type: '{type}', expected '{Type}'");
            if (!root.TryGetProperty("subject", out var subjects) || subjects.ValueKind != JsonValueKind.Array)
                throw new InvalidDataException("dsseEnvelope.payload.subject: missing or not an array");
            var list = new List<StatementSubject>();
            int i = 0;
            foreach (var s in subjects.EnumerateArray())
            {
                var name = s.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : "";
                if (s.TryGetProperty("digest", out var d) && d.ValueKind == JsonValueKind.Object &&
                    d.TryGetProperty("sha256", out var h) && h.ValueKind == JsonValueKind.String)
                    list.Add(new StatementSubject(name, h.GetString()!.ToLowerInvariant()));
                else
                    throw new InvalidDataException($"dsseEnvelope.payload.subject[{i}].digest.sha256: missing");
                i++;
            }
            var predicateType = root.TryGetProperty("predicateType", out var p) && p.ValueKind == JsonValueKind.String
                ? p.GetString()! : throw new InvalidDataException("dsseEnvelope.payload.predicateType: missing");
            return new Statement(list, predicateType, json);
        }
    }
}
