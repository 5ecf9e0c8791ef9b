// SPDY/3 §2.6.10: a name/value header block (before compression): counts and lengths are 32-bit big-endian.
using System.Buffers.Binary;
using System.Text;

namespace Appliance.ClusterRuntime.Spdy;

/// <summary>Encodes and decodes uncompressed header blocks. Names are lower case on the wire; several values of one name are NUL-separated.</summary>
internal static class HeaderBlock
{
    /// <summary>The pairs of a block, names lower-cased, the first value of each name kept.</summary>
    public static Dictionary<string, string> Decode(ReadOnlySpan<byte> b)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (b.Length < 4) throw new InvalidDataException($"SPDY header block of {b.Length} bytes, expected at least 4");
        var count = BinaryPrimitives.ReadInt32BigEndian(b);
        var at = 4;
        string Next(ReadOnlySpan<byte> s)
        {
            if (at + 4 > s.Length) throw new InvalidDataException($"SPDY header block ends at {at} inside a length");
            var n = BinaryPrimitives.ReadInt32BigEndian(s[at..]);
            at += 4;
            if (n < 0 || at + n > s.Length) throw new InvalidDataException($"SPDY header block: length {n} at {at - 4} runs past its end ({s.Length})");
            var text = Encoding.UTF8.GetString(s.Slice(at, n));
            at += n;
            return text;
        }
        for (var i = 0; i < count; i++)
        {
            var name = Next(b).ToLowerInvariant();
            var value = Next(b);
            headers.TryAdd(name, value.Split('\0')[0]);
        }
        return headers;
    }

    /// <summary>A block of <paramref name="headers"/>.</summary>
    public static byte[] Encode(IReadOnlyCollection<KeyValuePair<string, string>> headers)
    {
        var b = new MemoryStream();
        var n = new byte[4];
        void Put(string s)
        {
            var bytes = Encoding.UTF8.GetBytes(s);
            BinaryPrimitives.WriteInt32BigEndian(n, bytes.Length);
            b.Write(n);
            b.Write(bytes);
        }
        BinaryPrimitives.WriteInt32BigEndian(n, headers.Count);
        b.Write(n);
        foreach (var (k, v) in headers)
        {
            Put(k.ToLowerInvariant());
            Put(v);
        }
        return b.ToArray();
    }
}
