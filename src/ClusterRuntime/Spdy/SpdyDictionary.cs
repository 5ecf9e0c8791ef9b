// SPDY/3 §2.6.10.1: the preset zlib dictionary for header blocks.
using System.Buffers.Binary;
using System.Text;

namespace Appliance.ClusterRuntime.Spdy;

/// <summary>
/// The dictionary is a run of length-prefixed words (4-byte big-endian lengths, as in a header block) followed by
/// plain text. Both sides must hold it byte for byte: zlib checks its Adler-32 (the DICTID of the first block).
/// </summary>
internal static class SpdyDictionary
{
    static readonly string[] Words =
    [
        "options", "head", "post", "put", "delete", "trace", "accept", "accept-charset", "accept-encoding",
        "accept-language", "accept-ranges", "age", "allow", "authorization", "cache-control", "connection",
        "content-base", "content-encoding", "content-language", "content-length", "content-location", "content-md5",
        "content-range", "content-type", "date", "etag", "expect", "expires", "from", "host", "if-match",
        "if-modified-since", "if-none-match", "if-range", "if-unmodified-since", "last-modified", "location",
        "max-forwards", "pragma", "proxy-authenticate", "proxy-authorization", "range", "referer", "retry-after",
        "server", "te", "trailer", "transfer-encoding", "upgrade", "user-agent", "vary", "via", "warning",
        "www-authenticate", "method", "get", "status", "200 OK", "version", "HTTP/1.1", "url", "public", "set-cookie",
        "keep-alive", "origin",
    ];

    const string Tail =
        "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505" +
        "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized" +
        "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable" +
        "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT" +
        "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain," +
        "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.";

    /// <summary>The dictionary's bytes.</summary>
    public static readonly byte[] Bytes = Build();

    static byte[] Build()
    {
        var b = new List<byte>();
        Span<byte> length = stackalloc byte[4];
        foreach (var w in Words)
        {
            BinaryPrimitives.WriteInt32BigEndian(length, w.Length);
            b.AddRange(length.ToArray());
            b.AddRange(Encoding.ASCII.GetBytes(w));
        }
        b.AddRange(Encoding.ASCII.GetBytes(Tail));
        return [.. b];
    }
}
