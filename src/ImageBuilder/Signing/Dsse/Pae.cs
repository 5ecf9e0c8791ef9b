// DSSE v1 Pre-Authentication Encoding: "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body (DSSE protocol.md).
using System.Text;

namespace Appliance.ImageBuilder.Signing.Dsse;

/// <summary>The bytes a DSSE signature covers.</summary>
public static class Pae
{
    /// <summary>PAE(<paramref name="payloadType"/>, <paramref name="payload"/>); lengths are ASCII decimal byte counts.</summary>
    public static byte[] Encode(string payloadType, ReadOnlySpan<byte> payload)
    {
        var type = Encoding.UTF8.GetBytes(payloadType);
        var head = Encoding.ASCII.GetBytes($"DSSEv1 {type.Length} ");
        var mid = Encoding.ASCII.GetBytes($" {payload.Length} ");
        var result = new byte[head.Length + type.Length + mid.Length + payload.Length];
        var span = result.AsSpan();
        head.CopyTo(span);
        type.CopyTo(span[head.Length..]);
        mid.CopyTo(span[(head.Length + type.Length)..]);
        payload.CopyTo(span[(head.Length + type.Length + mid.Length)..]);
        return result;
    }
}
