// gnostic openapi_v2.Document (github.com/google/gnostic openapiv2/OpenAPIv2.proto): the v2 document as protobuf.
using System.Text.Json.Nodes;
using Google.Protobuf;

namespace Appliance.ClusterRuntime.Api.OpenApi;

/// <summary>
/// Encodes the swagger 2.0 JSON document (as <see cref="OpenApiDocuments.V2"/> builds it) as the gnostic
/// <c>openapi.v2.Document</c> message kubectl asks for with
/// <c>Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf</c>. Only the parts of the message the
/// document uses are written; field numbers are those of OpenAPIv2.proto. Vendor extensions travel as YAML text in
/// <c>Any.yaml</c>; JSON is valid YAML, so each value is written as its JSON text.
/// </summary>
public static class GnosticWriter
{
    /// <summary>The protobuf bytes of <paramref name="doc"/>; an unexpected key is a bug in the document, not input.</summary>
    public static byte[] Document(JsonObject doc)
    {
        var w = new Writer();
        foreach (var (key, value) in doc)
            switch (key)
            {
                case "swagger": w.String(1, Str(value)); break;
                case "info":
                    w.Message(2, info => { info.String(1, Str(value!["title"])); info.String(2, Str(value["version"])); });
                    break;
                case "paths":
                    w.Message(8, paths =>
                    {
                        foreach (var (path, item) in value!.AsObject()) paths.Message(2, named => { named.String(1, path); named.Message(2, m => PathItem(m, item!.AsObject())); });
                    });
                    break;
                case "definitions":
                    w.Message(9, defs => Named(defs, 1, value!.AsObject(), Schema));
                    break;
                default: throw Unexpected("Document", key);
            }
        return w.ToArray();
    }

    static void PathItem(Writer w, JsonObject item)
    {
        foreach (var (key, value) in item)
        {
            int field = key switch { "get" => 2, "put" => 3, "post" => 4, "delete" => 5, "patch" => 8, "parameters" => 9, _ => throw Unexpected("PathItem", key) };
            if (field == 9) foreach (var p in value!.AsArray()) w.Message(9, m => ParametersItem(m, p!.AsObject()));
            else w.Message(field, m => Operation(m, value!.AsObject()));
        }
    }

    static void Operation(Writer w, JsonObject op)
    {
        foreach (var (key, value) in op)
            switch (key)
            {
                case "tags": Strings(w, 1, value); break;
                case "description": w.String(3, Str(value)); break;
                case "operationId": w.String(5, Str(value)); break;
                case "produces": Strings(w, 6, value); break;
                case "consumes": Strings(w, 7, value); break;
                case "parameters": foreach (var p in value!.AsArray()) w.Message(8, m => ParametersItem(m, p!.AsObject())); break;
                case "responses": w.Message(9, m => Responses(m, value!.AsObject())); break;
                case "schemes": Strings(w, 10, value); break;
                default: VendorExtension(w, 13, "Operation", key, value); break;
            }
    }

    // ParametersItem.parameter(1) → Parameter: body_parameter(1), or non_body_parameter(2) → query(3) / path(4) sub-schema.
    static void ParametersItem(Writer w, JsonObject p) => w.Message(1, parameter =>
    {
        var where = Str(p["in"]);
        if (where == "body")
        {
            parameter.Message(1, body =>
            {
                body.String(2, Str(p["name"]));
                body.String(3, where);
                body.Bool(4, p["required"]?.GetValue<bool>() == true);
                body.Message(5, s => Schema(s, p["schema"]!.AsObject()));
            });
            return;
        }
        // Both sub-schemas start required(1), in(2), description(3), name(4); type is 6 for query, 5 for path.
        var (oneof, typeField, uniqueField) = where switch { "query" => (3, 6, 20), "path" => (4, 5, 19), _ => throw Unexpected("Parameter.in", where) };
        parameter.Message(2, nonBody => nonBody.Message(oneof, sub =>
        {
            sub.Bool(1, p["required"]?.GetValue<bool>() == true);
            sub.String(2, where);
            sub.String(3, Str(p["description"]));
            sub.String(4, Str(p["name"]));
            sub.String(typeField, Str(p["type"]));
            sub.Bool(uniqueField, p["uniqueItems"]?.GetValue<bool>() == true);
        }));
    });

    // Responses.response_code(1) → NamedResponseValue → ResponseValue.response(1) → Response{description 1, schema 2}.
    static void Responses(Writer w, JsonObject responses)
    {
        foreach (var (code, value) in responses)
            w.Message(1, named =>
            {
                named.String(1, code);
                named.Message(2, rv => rv.Message(1, response =>
                {
                    response.String(1, Str(value!["description"]));
                    if (value["schema"] is JsonObject schema) response.Message(2, item => item.Message(1, s => Schema(s, schema)));
                }));
            });
    }

    static void Schema(Writer w, JsonObject schema)
    {
        foreach (var (key, value) in schema)
            switch (key)
            {
                case "$ref": w.String(1, Str(value)); break;
                case "format": w.String(2, Str(value)); break;
                case "description": w.String(4, Str(value)); break;
                case "required": Strings(w, 19, value); break;
                case "additionalProperties": w.Message(21, a => a.Message(1, s => Schema(s, value!.AsObject()))); break;
                case "type": w.Message(22, t => t.String(1, Str(value))); break;
                case "items": w.Message(23, items => items.Message(1, s => Schema(s, value!.AsObject()))); break;
                case "allOf": foreach (var s in value!.AsArray()) w.Message(24, m => Schema(m, s!.AsObject())); break;
                case "properties": w.Message(25, props => Named(props, 1, value!.AsObject(), Schema)); break;
                default: VendorExtension(w, 31, "Schema", key, value); break;
            }
    }

    /// <summary>A map written as repeated Named* messages: name(1), value(2).</summary>
    static void Named(Writer w, int field, JsonObject map, Action<Writer, JsonObject> value)
    {
        foreach (var (name, v) in map) w.Message(field, named => { named.String(1, name); named.Message(2, m => value(m, v!.AsObject())); });
    }

    // NamedAny{name 1, value 2: Any{yaml 2}}.
    static void VendorExtension(Writer w, int field, string where, string key, JsonNode? value)
    {
        if (!key.StartsWith("x-", StringComparison.Ordinal)) throw Unexpected(where, key);
        w.Message(field, named => { named.String(1, key); named.Message(2, any => any.String(2, value!.ToJsonString() + "\n")); });
    }

    static void Strings(Writer w, int field, JsonNode? list)
    {
        foreach (var s in list!.AsArray()) w.RepeatedString(field, Str(s));
    }

    static string Str(JsonNode? n) => n?.GetValue<string>() ?? "";

    static InvalidOperationException Unexpected(string where, string key) => new($"OpenAPI v2: {where} has no protobuf field for \"{key}\"");

    /// <summary>One message being written; nested messages are written to their own buffer, then length-prefixed.</summary>
    sealed class Writer
    {
        readonly MemoryStream _buffer = new();
        readonly CodedOutputStream _out;

        public Writer() => _out = new CodedOutputStream(_buffer, leaveOpen: true);

        /// <summary>A proto3 string: empty strings are not written.</summary>
        public void String(int field, string value)
        {
            if (value.Length > 0) RepeatedString(field, value);
        }

        /// <summary>One element of a repeated string, written even when empty.</summary>
        public void RepeatedString(int field, string value)
        {
            _out.WriteTag(field, WireFormat.WireType.LengthDelimited);
            _out.WriteString(value);
        }

        /// <summary>A proto3 bool: false is not written.</summary>
        public void Bool(int field, bool value)
        {
            if (!value) return;
            _out.WriteTag(field, WireFormat.WireType.Varint);
            _out.WriteBool(true);
        }

        public void Message(int field, Action<Writer> write)
        {
            var child = new Writer();
            write(child);
            _out.WriteTag(field, WireFormat.WireType.LengthDelimited);
            _out.WriteBytes(ByteString.CopyFrom(child.ToArray()));
        }

        public byte[] ToArray()
        {
            _out.Flush();
            return _buffer.ToArray();
        }
    }
}
