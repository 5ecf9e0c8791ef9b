// One line of a CRI container log file: "<RFC3339Nano> <stdout|stderr> <P|F> <text>".
using System.Globalization;
using System.Text;

namespace Appliance.ClusterRuntime.Agent.Kubelet.Logs;

/// <summary>A parsed CRI log line (kubernetes <c>pkg/kubelet/kuberuntime/logs/logs.go</c>, <c>parseCRILog</c>).</summary>
/// <param name="TimestampText">The timestamp exactly as the runtime wrote it (printed back unchanged by <c>--timestamps</c>).</param>
/// <param name="Time">The timestamp, parsed.</param>
/// <param name="Partial">True for a <c>P</c> record: the line continues in the next record.</param>
/// <param name="Content">The text, without the record's newline.</param>
public sealed record CriLogRecord(string TimestampText, DateTimeOffset Time, bool Partial, ReadOnlyMemory<byte> Content)
{
    /// <summary>Parses one line (without its newline); null when it is not in CRI format.</summary>
    public static CriLogRecord? Parse(ReadOnlyMemory<byte> line)
    {
        var span = line.Span;
        int a = span.IndexOf((byte)' ');
        if (a <= 0) return null;
        int b = span[(a + 1)..].IndexOf((byte)' ');
        if (b <= 0) return null;
        b += a + 1;
        var stream = span[(a + 1)..b];
        if (!stream.SequenceEqual("stdout"u8) && !stream.SequenceEqual("stderr"u8)) return null;
        // Older runtimes wrote no tag; the text then starts right after the stream.
        bool partial = false;
        int textStart = b + 1;
        if (span.Length >= b + 2 && (span[b + 1] == 'P' || span[b + 1] == 'F') && (span.Length == b + 2 || span[b + 2] == ' '))
        {
            partial = span[b + 1] == 'P';
            textStart = Math.Min(span.Length, b + 3);
        }
        var stamp = Encoding.ASCII.GetString(span[..a]);
        if (!DateTimeOffset.TryParse(stamp, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time))
            return null;
        return new CriLogRecord(stamp, time, partial, line[Math.Min(textStart, line.Length)..]);
    }
}
