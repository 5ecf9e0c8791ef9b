// The cpio "newc" header (SVR4 portable format without CRC, magic 070701): 110 ASCII bytes, fields as 8 hex digits.
using System.Globalization;
using System.Text;

namespace Appliance.ImageBuilder.Disk.Cpio;

internal sealed record NewcHeader
{
    public const string Magic = "070701";
    public const int Size = 110;
    public const string Trailer = "TRAILER!!!";
    private const int Field = 8;

    private static class Off
    {
        public const int Magic = 0, Ino = Magic + 6, Mode = Ino + Field, Uid = Mode + Field, Gid = Uid + Field, Nlink = Gid + Field,
            MTime = Nlink + Field, FileSize = MTime + Field, DevMajor = FileSize + Field, DevMinor = DevMajor + Field,
            RdevMajor = DevMinor + Field, RdevMinor = RdevMajor + Field, NameSize = RdevMinor + Field, Check = NameSize + Field,
            End = Check + Field;
    }

    public uint Ino { get; init; }
    public uint Mode { get; init; }
    public uint Uid { get; init; }
    public uint Gid { get; init; }
    public uint Nlink { get; init; }
    public uint MTime { get; init; }
    public uint FileSize { get; init; }
    public uint RdevMajor { get; init; }
    public uint RdevMinor { get; init; }
    public uint NameSize { get; init; }

    public void WriteTo(Span<byte> b)
    {
        Encoding.ASCII.GetBytes(Magic, b);
        Hex(b, Off.Ino, Ino); Hex(b, Off.Mode, Mode); Hex(b, Off.Uid, Uid); Hex(b, Off.Gid, Gid); Hex(b, Off.Nlink, Nlink);
        Hex(b, Off.MTime, MTime); Hex(b, Off.FileSize, FileSize); Hex(b, Off.DevMajor, 0); Hex(b, Off.DevMinor, 0);
        Hex(b, Off.RdevMajor, RdevMajor); Hex(b, Off.RdevMinor, RdevMinor); Hex(b, Off.NameSize, NameSize); Hex(b, Off.Check, 0);
    }

    private static void Hex(Span<byte> b, int at, uint v) => Encoding.ASCII.GetBytes(v.ToString("X8", CultureInfo.InvariantCulture), b[at..]);

    public static NewcHeader Read(ReadOnlySpan<byte> b, long offset)
    {
        var magic = Encoding.ASCII.GetString(b[..6]);
        if (magic != Magic) throw new InvalidDataException($"cpio header at byte {offset}: magic '{magic}' instead of '{Magic}' (newc)");
        var text = Encoding.ASCII.GetString(b[..Off.End]);
        uint F(int at)
        {
            var s = text.Substring(at, Field);
            if (!uint.TryParse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var v))
                throw new InvalidDataException($"cpio header at byte {offset}: field at +{at} is '{s}', not 8 hex digits");
            return v;
        }
        return new NewcHeader
        {
            Ino = F(Off.Ino), Mode = F(Off.Mode), Uid = F(Off.Uid), Gid = F(Off.Gid), Nlink = F(Off.Nlink), MTime = F(Off.MTime),
            FileSize = F(Off.FileSize), RdevMajor = F(Off.RdevMajor), RdevMinor = F(Off.RdevMinor), NameSize = F(Off.NameSize),
        };
    }
}
