// RFC 1035 §3.1 and §4.1.4: domain names as length-prefixed labels, with compression pointers.
using System.Text;

namespace Appliance.ClusterRuntime.Agent.ClusterDns;

/// <summary>Reads and writes domain names. Names are dotted, without the final dot; the root is "".</summary>
internal static class DnsName
{
    /// <summary>Longest label and longest name on the wire (RFC 1035 §2.3.4).</summary>
    public const int MaxLabel = 63, MaxName = 255;

    /// <summary>
    /// Reads the name at <paramref name="offset"/> (advanced past it), following compression pointers, which may only
    /// point backwards (so a loop cannot be built).
    /// </summary>
    public static string Read(ReadOnlySpan<byte> message, ref int offset)
    {
        var name = new StringBuilder();
        int at = offset, wire = 0;
        int? after = null;
        while (true)
        {
            if (at >= message.Length) throw new InvalidDataException($"DNS name at offset {offset} runs past the message ({message.Length} bytes)");
            int length = message[at];
            if ((length & 0xC0) == 0xC0)
            {
                if (at + 1 >= message.Length) throw new InvalidDataException($"DNS name at offset {offset}: compression pointer at offset {at} is cut");
                int target = ((length & 0x3F) << 8) | message[at + 1];
                if (target >= at) throw new InvalidDataException($"DNS name at offset {offset}: compression pointer at offset {at} points forward to {target}");
                after ??= at + 2;
                at = target;
                continue;
            }
            if ((length & 0xC0) != 0) throw new InvalidDataException($"DNS name at offset {offset}: label type 0x{length & 0xC0:x2} at offset {at} is not supported");
            wire += length + 1;
            if (wire > MaxName) throw new InvalidDataException($"DNS name at offset {offset} is longer than {MaxName} bytes");
            if (length == 0)
            {
                offset = after ?? at + 1;
                return name.ToString();
            }
            if (at + 1 + length > message.Length) throw new InvalidDataException($"DNS name at offset {offset}: label at offset {at} runs past the message");
            if (name.Length > 0) name.Append('.');
            foreach (var b in message.Slice(at + 1, length))
                name.Append(b is (byte)'.' or (byte)'\\' || b <= 0x20 || b >= 0x7F ? $"\\{b:000}" : (char)b);
            at += 1 + length;
        }
    }

    /// <summary>The labels of <paramref name="name"/>, checked against the wire limits.</summary>
    public static string[] Labels(string name)
    {
        if (name.Length == 0) return [];
        var labels = name.Split('.');
        if (labels.Any(l => l.Length is 0 or > MaxLabel) || labels.Sum(l => l.Length + 1) + 1 > MaxName)
            throw new ArgumentException($"\"{name}\" is not a valid domain name (labels of 1 to {MaxLabel} bytes, {MaxName} in all)", nameof(name));
        return labels;
    }
}
