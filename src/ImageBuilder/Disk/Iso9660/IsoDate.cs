// ECMA-119 9.1.5 (7-byte recording date) and 8.4.26.1 (17-byte volume date), always in UTC.
using System.Text;

namespace Appliance.ImageBuilder.Disk.Iso9660;

internal static class IsoDate
{
    public const int RecordingSize = 7, VolumeSize = 17;
    private static readonly long Min1900 = new DateTimeOffset(1900, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds();
    private static readonly long Max2155 = new DateTimeOffset(2155, 12, 31, 23, 59, 59, TimeSpan.Zero).ToUnixTimeSeconds();

    /// <summary>Years since 1900, month, day, hour, minute, second, GMT offset 0; times outside 1900–2155 are clamped.</summary>
    public static void WriteRecording(long unixSeconds, Span<byte> b)
    {
        var t = DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(unixSeconds, Min1900, Max2155));
        b[0] = (byte)(t.Year - 1900);
        b[1] = (byte)t.Month;
        b[2] = (byte)t.Day;
        b[3] = (byte)t.Hour;
        b[4] = (byte)t.Minute;
        b[5] = (byte)t.Second;
        b[6] = 0;
    }

    /// <summary>"YYYYMMDDHHMMSScc" and a GMT offset of 0; null writes the "not specified" form (all '0' digits).</summary>
    public static void WriteVolume(long? unixSeconds, Span<byte> b)
    {
        string digits = unixSeconds is { } s
            ? DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(s, 0, 253402300799)).ToString("yyyyMMddHHmmss") + "00"
            : "0000000000000000";
        Encoding.ASCII.GetBytes(digits, b);
        b[16] = 0;
    }
}
