// Decodes Kubernetes protobuf request bodies ("k8s\0" + runtime.Unknown envelope) into JSON objects.
using System.Text;
using System.Text.Json.Nodes;

namespace Appliance.ClusterRuntime.Api.Protobuf;

/// <summary>
/// kubectl's typed clients send built-in objects as <c>application/vnd.kubernetes.protobuf</c>. The server stores JSON,
/// so request bodies of the kinds in <see cref="ProtoSchema"/> are decoded here; responses are always JSON.
/// </summary>
public static class ProtobufDecoder
{
    static ReadOnlySpan<byte> Magic => "k8s\0"u8;

    /// <summary>Decodes an envelope into a JSON object with kind and apiVersion; 415 for kinds without a table.</summary>
    public static JsonObject Decode(ReadOnlySpan<byte> body)
    {
        if (!body.StartsWith(Magic)) throw ApiException.BadRequest("protobuf body does not start with the k8s\\0 magic");
        string? apiVersion = null, kind = null;
        ReadOnlySpan<byte> raw = default;
        var reader = new ProtoReader(body[Magic.Length..]);
        while (reader.Next(out var field, out var wire))
        {
            switch (field)
            {
                case 1:
                    var tm = new ProtoReader(reader.Bytes());
                    while (tm.Next(out var f, out var w))
                    {
                        if (f == 1) apiVersion = tm.String();
                        else if (f == 2) kind = tm.String();
                        else tm.Skip(w);
                    }
                    break;
                case 2: raw = reader.Bytes(); break;
                default: reader.Skip(wire); break;
            }
        }
        if (kind is null || !ProtoSchema.Messages.ContainsKey(kind))
            throw new ApiException(415, "UnsupportedMediaType", $"protobuf bodies of kind \"{kind}\" are not supported by this server; send application/json");
        var obj = new JsonObject { ["kind"] = kind, ["apiVersion"] = apiVersion };
        foreach (var (k, v) in Message(raw, kind)) obj[k] = v?.DeepClone();
        return obj;
    }

    static JsonObject Message(ReadOnlySpan<byte> data, string type)
    {
        var table = ProtoSchema.Messages[type];
        var obj = new JsonObject();
        var reader = new ProtoReader(data);
        while (reader.Next(out var number, out var wire))
        {
            if (!table.TryGetValue(number, out var field)) { reader.Skip(wire); continue; }
            JsonNode? value;
            switch (field.Kind)
            {
                case ProtoKind.String:
                    // gogo-protobuf writes empty non-pointer strings; JSON omits them (omitempty), so do we.
                    var text = reader.String();
                    if (text.Length == 0 && !field.Repeated) continue;
                    value = text;
                    break;
                case ProtoKind.Bytes: value = Convert.ToBase64String(reader.Bytes()); break;
                case ProtoKind.Int:
                {
                    var n = (long)reader.Varint();
                    if (n == 0 && !field.Pointer && !field.Repeated) continue;
                    value = n;
                    break;
                }
                case ProtoKind.Bool:
                {
                    var b = reader.Varint() != 0;
                    if (!b && !field.Pointer) continue;
                    value = b;
                    break;
                }
                case ProtoKind.Message: value = Message(reader.Bytes(), field.Type!); break;
                case ProtoKind.Time:
                {
                    var t = new ProtoReader(reader.Bytes());
                    long seconds = 0;
                    while (t.Next(out var f, out var w)) { if (f == 1) seconds = (long)t.Varint(); else t.Skip(w); }
                    // metav1.Time marshals its zero value as an empty message (seconds 0): that means "unset".
                    value = seconds <= -62135596800 || seconds == 0 ? null : Api.Storage.Meta.Time(DateTimeOffset.FromUnixTimeSeconds(seconds));
                    if (value is null) continue;
                    break;
                }
                case ProtoKind.IntOrString:
                {
                    var t = new ProtoReader(reader.Bytes());
                    long type2 = 0, iv = 0;
                    string sv = "";
                    while (t.Next(out var f, out var w))
                    {
                        if (f == 1) type2 = (long)t.Varint(); else if (f == 2) iv = (long)t.Varint(); else if (f == 3) sv = t.String(); else t.Skip(w);
                    }
                    value = type2 == 1 ? sv : iv;
                    break;
                }
                case ProtoKind.MapString or ProtoKind.MapBytes:
                {
                    var entry = new ProtoReader(reader.Bytes());
                    string key = "";
                    JsonNode v = field.Kind == ProtoKind.MapString ? "" : "";
                    while (entry.Next(out var f, out var w))
                    {
                        if (f == 1) key = entry.String();
                        else if (f == 2) v = field.Kind == ProtoKind.MapString ? entry.String() : Convert.ToBase64String(entry.Bytes());
                        else entry.Skip(w);
                    }
                    if (obj[field.Json] is not JsonObject map) obj[field.Json] = map = new JsonObject();
                    map[key] = v;
                    continue;
                }
                default: reader.Skip(wire); continue;
            }
            if (field.Repeated)
            {
                if (obj[field.Json] is not JsonArray arr) obj[field.Json] = arr = new JsonArray();
                arr.Add(value);
            }
            else obj[field.Json] = value;
        }
        return obj;
    }

    /// <summary>A protobuf wire-format reader over a span.</summary>
    ref struct ProtoReader(ReadOnlySpan<byte> data)
    {
        ReadOnlySpan<byte> _data = data;
        int _pos;

        public bool Next(out int field, out int wire)
        {
            field = wire = 0;
            if (_pos >= _data.Length) return false;
            var tag = Varint();
            field = (int)(tag >> 3);
            wire = (int)(tag & 7);
            return true;
        }

        public ulong Varint()
        {
            ulong result = 0;
            for (int shift = 0; shift < 64; shift += 7)
            {
                if (_pos >= _data.Length) throw ApiException.BadRequest($"protobuf body truncated at byte {_pos}");
                var b = _data[_pos++];
                result |= (ulong)(b & 0x7f) << shift;
                if (b < 0x80) return result;
            }
            throw ApiException.BadRequest($"protobuf varint too long at byte {_pos}");
        }

        public ReadOnlySpan<byte> Bytes()
        {
            var len = (int)Varint();
            if (len < 0 || _pos + len > _data.Length) throw ApiException.BadRequest($"protobuf field length {len} runs past the end at byte {_pos}");
            var s = _data.Slice(_pos, len);
            _pos += len;
            return s;
        }

        public string String() => Encoding.UTF8.GetString(Bytes());

        public void Skip(int wire)
        {
            switch (wire)
            {
                case 0: Varint(); break;
                case 1: _pos += 8; break;
                case 2: Bytes(); break;
                case 5: _pos += 4; break;
                default: throw ApiException.BadRequest($"unsupported protobuf wire type {wire} at byte {_pos}");
            }
        }
    }
}
