// Unit tests of the CRI log reader: partial records joined, tail from the end of a large file, since, timestamps, limitBytes, follow and rotation.
using System.Text;
using Appliance.ClusterRuntime.Agent.Kubelet.Logs;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Agent;

[Trait("Category", "Unit")]
public sealed class CriLogReaderTests : IDisposable
{
    readonly TempDir _dir = new("logs-");
    static readonly DateTimeOffset T0 = new(2026, 12, 2, 10, 0, 0, TimeSpan.Zero);

    public void Dispose() => _dir.Dispose();

    static string Record(int second, string tag, string text, string stream = "stdout") =>
        $"{T0.AddSeconds(second):yyyy-MM-ddTHH:mm:ss.fffffff}00Z {stream} {tag} {text}\n";

    async Task<string> ReadAsync(string path, LogOptions options, Func<bool>? running = null)
    {
        using var output = new MemoryStream();
        await new CriLogReader().CopyAsync(path, options, output, running, TestContext.Current.CancellationToken);
        return Encoding.UTF8.GetString(output.ToArray());
    }

    [Fact]
    public async Task PartialRecordsAreJoinedIntoOneLineAndStreamsMerged()
    {
        var path = _dir.Write("0.log", Record(0, "P", "hel") + Record(0, "P", "lo ") + Record(1, "F", "world") + Record(2, "F", "oops", "stderr") + "not a cri line\n");
        Assert.Equal("hello world\noops\n", await ReadAsync(path, new LogOptions()));
    }

    [Fact]
    public async Task TimestampsPrefixEachLineWithTheFirstRecordsStamp()
    {
        var path = _dir.Write("0.log", Record(0, "P", "a") + Record(1, "F", "b") + Record(2, "F", "c"));
        Assert.Equal("2026-12-02T10:00:00.000000000Z ab\n2026-12-02T10:00:02.000000000Z c\n", await ReadAsync(path, new LogOptions { Timestamps = true }));
    }

    [Fact]
    public async Task TailCountsJoinedLinesAcrossALargeFile()
    {
        var text = new StringBuilder();
        for (int i = 0; i < 200_000; i++) text.Append(Record(i % 60, "F", $"line {i}"));
        text.Append(Record(0, "P", "part one ")).Append(Record(0, "F", "part two"));
        var path = _dir.Write("0.log", text.ToString());
        Assert.True(new FileInfo(path).Length > 10_000_000);
        Assert.Equal("line 199998\nline 199999\npart one part two\n", await ReadAsync(path, new LogOptions { TailLines = 3 }));
        Assert.Equal("", await ReadAsync(path, new LogOptions { TailLines = 0 }));
        var small = _dir.Write("1.log", Record(0, "F", "only"));
        Assert.Equal("only\n", await ReadAsync(small, new LogOptions { TailLines = 5 }));
    }

    [Fact]
    public async Task SinceDropsOlderRecords()
    {
        var path = _dir.Write("0.log", Record(0, "F", "old") + Record(10, "F", "edge") + Record(20, "F", "new"));
        Assert.Equal("edge\nnew\n", await ReadAsync(path, new LogOptions { Since = T0.AddSeconds(10) }));
    }

    [Fact]
    public async Task LimitBytesCutsTheOutput()
    {
        var path = _dir.Write("0.log", Record(0, "F", "abcdef") + Record(1, "F", "ghijkl"));
        Assert.Equal("abcdef\nghi", await ReadAsync(path, new LogOptions { LimitBytes = 10 }));
    }

    [Fact]
    public void OptionsFromAQueryAreChecked()
    {
        var o = LogOptions.Parse(n => n switch { "tailLines" => "5", "timestamps" => "true", "sinceSeconds" => "60", _ => null }, T0);
        Assert.Equal(5, o.TailLines);
        Assert.True(o.Timestamps);
        Assert.Equal(T0.AddSeconds(-60), o.Since);
        var e = Assert.Throws<ArgumentException>(() => LogOptions.Parse(n => n == "tailLines" ? "x" : null, T0));
        Assert.Contains("tailLines \"x\"", e.Message);
        Assert.Throws<ArgumentException>(() => LogOptions.Parse(n => n is "sinceSeconds" ? "1" : n is "sinceTime" ? "2026-01-01T00:00:00Z" : null, T0));
    }

    [Fact]
    public async Task FollowReadsAppendedLinesThenARotatedFileAndEndsWhenTheContainerIsGone()
    {
        var ct = TestContext.Current.CancellationToken;
        var path = _dir.Write("0.log", Record(0, "F", "first"));
        var running = true;
        var output = new SyncStream();
        var reader = new CriLogReader { PollInterval = TimeSpan.FromMilliseconds(20) };
        var follow = reader.CopyAsync(path, new LogOptions { Follow = true }, output, () => Volatile.Read(ref running), ct);
        await Poll.UntilAsync(() => Task.FromResult(output.Text), t => t == "first\n", TimeSpan.FromSeconds(5), "the first line");
        await File.AppendAllTextAsync(path, Record(1, "P", "sec"), ct);
        await File.AppendAllTextAsync(path, Record(1, "F", "ond"), ct);
        await Poll.UntilAsync(() => Task.FromResult(output.Text), t => t == "first\nsecond\n", TimeSpan.FromSeconds(5), "the appended line");
        // Rotation as the kubelet's log manager does it: rename, a late write to the old file, then a new file at the path.
        File.Move(path, path + ".20261202-100000");
        await File.AppendAllTextAsync(path + ".20261202-100000", Record(2, "F", "late"), ct);
        await File.WriteAllTextAsync(path, Record(3, "F", "rotated"), ct);
        await Poll.UntilAsync(() => Task.FromResult(output.Text), t => t == "first\nsecond\nlate\nrotated\n", TimeSpan.FromSeconds(5), "the rotated file");
        Assert.False(follow.IsCompleted);
        await File.AppendAllTextAsync(path, Record(4, "F", "last words"), ct);
        Volatile.Write(ref running, false);
        await follow.WaitAsync(TimeSpan.FromSeconds(5), ct);
        Assert.Equal("first\nsecond\nlate\nrotated\nlast words\n", output.Text);
    }

    /// <summary>A memory stream whose text can be read while another task writes.</summary>
    sealed class SyncStream : MemoryStream
    {
        public string Text { get { lock (this) return Encoding.UTF8.GetString(ToArray()); } }
        public override void Write(ReadOnlySpan<byte> buffer) { lock (this) base.Write(buffer); }
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default) { Write(buffer.Span); return ValueTask.CompletedTask; }
    }
}
