// SUSP 1.12 (SP, CE, ER) and RRIP 1.12 (PX, PN, SL, NM, TF) system use entries, each at most 255 bytes.
using System.Text;

namespace Appliance.ImageBuilder.Disk.Iso9660;

internal static class RockRidge
{
    public const int CeSize = 28;
    private const int MaxEntry = 255, Header = 4;

    // RRIP 1.12 §3 (the ER entry that announces it): identifier, descriptor and source.
    private const string ErId = "IEEE_1282";
    private const string ErDescriptor = "THE IEEE 1282 PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS.";
    private const string ErSource = "PLEASE CONTACT THE IEEE STANDARDS DEPARTMENT, PISCATAWAY, NJ, USA FOR THE 1282 SPECIFICATION.";

    public const int TypeFile = 0x8000, TypeDirectory = 0x4000, TypeSymlink = 0xA000, TypeChar = 0x2000,
        TypeBlock = 0x6000, TypeFifo = 0x1000, TypeSocket = 0xC000;

    private static byte[] Entry(string sig, int bodyLength, out Span<byte> body)
    {
        var e = new byte[Header + bodyLength];
        e[0] = (byte)sig[0]; e[1] = (byte)sig[1]; e[2] = (byte)e.Length; e[3] = 1;
        body = e.AsSpan(Header);
        return e;
    }

    /// <summary>SUSP 5.3: the first entry of the root's "." record; no bytes skipped.</summary>
    public static byte[] Sp()
    {
        var e = Entry("SP", 3, out var b);
        b[0] = 0xBE; b[1] = 0xEF; b[2] = 0;
        return e;
    }

    /// <summary>SUSP 5.5: the extension reference naming RRIP 1.12.</summary>
    public static byte[] Er()
    {
        var e = Entry("ER", 4 + ErId.Length + ErDescriptor.Length + ErSource.Length, out var b);
        b[0] = (byte)ErId.Length; b[1] = (byte)ErDescriptor.Length; b[2] = (byte)ErSource.Length; b[3] = 1;
        Encoding.ASCII.GetBytes(ErId + ErDescriptor + ErSource, b[4..]);
        return e;
    }

    /// <summary>SUSP 5.1: where the rest of the entries continue.</summary>
    public static void WriteCe(Span<byte> e, uint lba, uint offset, uint length)
    {
        e[0] = (byte)'C'; e[1] = (byte)'E'; e[2] = CeSize; e[3] = 1;
        IsoBytes.Both32(e[4..], lba);
        IsoBytes.Both32(e[12..], offset);
        IsoBytes.Both32(e[20..], length);
    }

    /// <summary>RRIP 4.1.1: mode (type and permissions), links, owner, group, and the file serial number.</summary>
    public static byte[] Px(int mode, int links, int uid, int gid, uint serial)
    {
        var e = Entry("PX", 40, out var b);
        IsoBytes.Both32(b, (uint)mode);
        IsoBytes.Both32(b[8..], (uint)links);
        IsoBytes.Both32(b[16..], (uint)uid);
        IsoBytes.Both32(b[24..], (uint)gid);
        IsoBytes.Both32(b[32..], serial);
        return e;
    }

    /// <summary>
    /// RRIP 4.1.2: device number. Readers disagree on the two words: Linux takes a high word of 0 with a low word above 255
    /// as the old (major &lt;&lt; 8 | minor) form and otherwise high = major, low = minor; libisofs (osirrox) takes them as
    /// the halves of a glibc dev_t. The old form means the same to both, so it is used whenever it fits (minor ≤ 255);
    /// larger minors are written the Linux way.
    /// </summary>
    public static byte[] Pn(int major, int minor)
    {
        var e = Entry("PN", 16, out var b);
        bool old = minor is >= 0 and <= 0xFF && major is >= 0 and <= 0xFFF;
        IsoBytes.Both32(b, old ? 0 : (uint)major);
        IsoBytes.Both32(b[8..], old ? (uint)(major << 8 | minor) : (uint)minor);
        return e;
    }

    /// <summary>RRIP 4.1.6: modification, access and attribute-change times, all the file's mtime (short form).</summary>
    public static byte[] Tf(long mtime)
    {
        var e = Entry("TF", 1 + 3 * IsoDate.RecordingSize, out var b);
        b[0] = 0x02 | 0x04 | 0x08;
        for (int i = 0; i < 3; i++) IsoDate.WriteRecording(mtime, b[(1 + i * IsoDate.RecordingSize)..]);
        return e;
    }

    /// <summary>RRIP 4.1.4: the real name, split over several NM entries (flag CONTINUE) past 250 bytes.</summary>
    public static IEnumerable<byte[]> Nm(string name)
    {
        var bytes = Encoding.UTF8.GetBytes(name);
        const int max = MaxEntry - Header - 1;
        for (int at = 0; at < bytes.Length || at == 0; at += max)
        {
            int n = Math.Min(max, bytes.Length - at);
            var e = Entry("NM", 1 + n, out var b);
            b[0] = (byte)(at + n < bytes.Length ? 0x01 : 0);
            bytes.AsSpan(at, n).CopyTo(b[1..]);
            yield return e;
            if (bytes.Length == 0) yield break;
        }
    }

    /// <summary>
    /// RRIP 4.1.3: the symlink target as component records (ROOT for a leading '/', CURRENT for ".", PARENT for "..",
    /// an empty component for each further '/', so "a//b" and "dir/" come back as written);
    /// components longer than 248 bytes are split (component flag CONTINUE), and entries past 255 bytes continue in the
    /// next SL entry (entry flag CONTINUE).
    /// </summary>
    public static IEnumerable<byte[]> Sl(string target)
    {
        var pieces = new List<byte[]>();
        void Component(byte flags, ReadOnlySpan<byte> text)
        {
            const int max = MaxEntry - Header - 1 - 2;
            if (text.Length == 0) { pieces.Add([flags, 0]); return; }
            for (int at = 0; at < text.Length; at += max)
            {
                int n = Math.Min(max, text.Length - at);
                var c = new byte[2 + n];
                c[0] = (byte)(flags | (at + n < text.Length ? 0x01 : 0));
                c[1] = (byte)n;
                text.Slice(at, n).CopyTo(c.AsSpan(2));
                pieces.Add(c);
            }
        }
        string rest = target;
        if (rest.StartsWith('/')) { Component(0x08, []); rest = rest[1..]; }
        // Empty components keep "a//b" and a trailing '/' as they were (Linux joins components with '/').
        if (rest.Length > 0)
            foreach (var part in rest.Split('/'))
            {
                if (part == ".") Component(0x02, []);
                else if (part == "..") Component(0x04, []);
                else Component(0, Encoding.UTF8.GetBytes(part));
            }
        var result = new List<byte[]>();
        int i = 0;
        while (i < pieces.Count)
        {
            int len = 0, j = i;
            while (j < pieces.Count && Header + 1 + len + pieces[j].Length <= MaxEntry) len += pieces[j++].Length;
            var e = Entry("SL", 1 + len, out var b);
            b[0] = (byte)(j < pieces.Count ? 0x01 : 0);
            int at = 1;
            for (int k = i; k < j; k++) { pieces[k].CopyTo(b[at..]); at += pieces[k].Length; }
            result.Add(e);
            i = j;
        }
        return result;
    }
}
