// The opaque continue token of paged lists: base64url of {"rv":revision,"start":nextKey}.
using System.Text;
using System.Text.Json.Nodes;

namespace Appliance.ClusterRuntime.Api.Storage;

/// <summary>Encodes and decodes list continue tokens.</summary>
public static class ContinueToken
{
    /// <summary>Encodes the revision of the list and the key to resume at.</summary>
    public static string Encode(long revision, string startKey)
    {
        var json = new JsonObject { ["v"] = 1, ["rv"] = revision, ["start"] = startKey }.ToJsonString();
        return Convert.ToBase64String(Encoding.UTF8.GetBytes(json)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    /// <summary>Decodes a token; 400 when it is not one of ours.</summary>
    public static (long Revision, string StartKey) Decode(string token)
    {
        try
        {
            var b64 = token.Replace('-', '+').Replace('_', '/');
            b64 = b64.PadRight(b64.Length + (4 - b64.Length % 4) % 4, '=');
            var obj = JsonNode.Parse(Convert.FromBase64String(b64))!.AsObject();
            return (obj["rv"]!.GetValue<long>(), obj["start"]!.GetValue<string>());
        }
        catch (Exception e) when (e is FormatException or System.Text.Json.JsonException or InvalidOperationException or NullReferenceException)
        {
            throw ApiException.BadRequest("continue key is not valid: " + e.Message);
        }
    }
}
