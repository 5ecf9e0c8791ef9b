// AtomicWriter: readers never see a mix of two payloads, modes are applied, dropped keys go, equal payloads are no-ops.
using System.Text;
using Appliance.ClusterRuntime.Agent.Kubelet.Volumes;

namespace Appliance.ClusterRuntime.Tests.Agent.Kubelet;

[Trait("Category", "Unit")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class AtomicWriterTests
{
    static Dictionary<string, FileProjection> Payload(int version, int size = 64 * 1024) => new()
    {
        ["a"] = new(Encoding.ASCII.GetBytes(new string((char)('A' + version % 26), size)), (UnixFileMode)0b110_100_100),
        ["dir/b"] = new(Encoding.ASCII.GetBytes(new string((char)('A' + version % 26), size)), (UnixFileMode)0b110_100_100),
    };

    [Fact]
    public async Task Reader_NeverSeesAPartialFile_OrFilesOfTwoVersions_DuringUpdates()
    {
        using var dir = new TempDir("aw-");
        var writer = new AtomicWriter(dir["vol"]);
        writer.Write(Payload(0));
        using var stop = new CancellationTokenSource();
        int reads = 0, vanished = 0;
        var reader = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    // Through ..data resolved once: a and dir/b must come from one payload.
                    var snapshot = Path.Combine(dir["vol"], new FileInfo(dir["vol/..data"]).LinkTarget!);
                    var a = File.ReadAllText(Path.Combine(snapshot, "a"));
                    var b = File.ReadAllText(Path.Combine(snapshot, "dir/b"));
                    Assert.Equal(64 * 1024, a.Length);
                    Assert.True(a.All(c => c == a[0]), "a is torn");
                    Assert.Equal(a, b);
                    // Through the user-visible symlink: always one whole version.
                    var direct = File.ReadAllText(dir["vol/a"]);
                    Assert.Equal(64 * 1024, direct.Length);
                    Assert.True(direct.All(c => c == direct[0]), "a via its symlink is torn");
                    reads++;
                }
                catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
                {
                    vanished++; // the old snapshot was removed after the swap: a retry reads the new one
                }
            }
        }, TestContext.Current.CancellationToken);
        for (int v = 1; v <= 200; v++) Assert.True(writer.Write(Payload(v)));
        await stop.CancelAsync();
        await reader;
        Assert.True(reads > 10, $"only {reads} reads ({vanished} retries)");
        Assert.Equal(new string((char)('A' + 200 % 26), 10), File.ReadAllText(dir["vol/dir/b"])[..10]);
        // Only one timestamped directory is left, and no temporary link.
        Assert.Single(Directory.GetDirectories(dir["vol"], "..2*"));
        Assert.False(Path.Exists(dir["vol/..data_tmp"]) || new FileInfo(dir["vol/..data_tmp"]).LinkTarget is not null);
    }

    [Fact]
    public void Modes_DroppedKeys_AndNoOpWhenUnchanged()
    {
        using var dir = new TempDir("aw-");
        var writer = new AtomicWriter(dir["vol"]);
        var first = new Dictionary<string, FileProjection>
        {
            ["keep"] = new("1"u8.ToArray(), (UnixFileMode)0b100_000_000),
            ["drop"] = new("2"u8.ToArray(), (UnixFileMode)0b110_100_100),
        };
        Assert.True(writer.Write(first));
        Assert.Equal((UnixFileMode)0b100_000_000, File.GetUnixFileMode(dir["vol/keep"]));
        Assert.Equal("..data/keep", new FileInfo(dir["vol/keep"]).LinkTarget);
        var data = new FileInfo(dir["vol/..data"]).LinkTarget;
        Assert.False(writer.Write(first));
        Assert.Equal(data, new FileInfo(dir["vol/..data"]).LinkTarget);

        // A mode change alone is a change; a dropped key's symlink goes.
        Assert.True(writer.Write(new Dictionary<string, FileProjection> { ["keep"] = new("1"u8.ToArray(), (UnixFileMode)0b110_110_110) }));
        Assert.Equal((UnixFileMode)0b110_110_110, File.GetUnixFileMode(dir["vol/keep"]));
        Assert.False(Path.Exists(dir["vol/drop"]) || new FileInfo(dir["vol/drop"]).LinkTarget is not null);
        Assert.Equal(["..data", "keep"], Directory.EnumerateFileSystemEntries(dir["vol"]).Select(Path.GetFileName).Where(n => !n!.StartsWith("..2")).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("/etc/passwd")]
    [InlineData("../up")]
    [InlineData("a/../../up")]
    [InlineData("..data")]
    [InlineData("")]
    public void Refuses_PathsThatLeaveTheVolumeOrHitItsOwnNames(string path)
    {
        using var dir = new TempDir("aw-");
        var e = Assert.Throws<ArgumentException>(() => new AtomicWriter(dir["vol"]).Write(new Dictionary<string, FileProjection> { [path] = new([], UnixFileMode.UserRead) }));
        Assert.Contains($"\"{path}\"", e.Message);
    }
}
