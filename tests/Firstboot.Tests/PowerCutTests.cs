// Acceptance: first boot killed (SIGKILL) at every step boundary and inside steps 1, 2 and 5, then run again, ends as an uninterrupted run.
using System.Text;
using Appliance.Firstboot.Tests.Support;

namespace Appliance.Firstboot.Tests;

/// <summary>
/// Each case attaches a fresh disk, runs <c>appliance-firstboot run</c> with a stop point (the process sends itself
/// SIGKILL there), writes a file to DATA when DATA exists by then, runs it again to the end, and compares the disk
/// with one that ran uninterrupted: partition table, data file system, journal and secret files, boot partition.
/// The file written before the cut must survive, and the token and CA key must be on DATA only, nowhere in the raw
/// bytes of the boot partition.
/// </summary>
[Collection(LoopCollection.Name)]
[Trait("Category", "External")]
public sealed class PowerCutTests
{
    private static readonly Lazy<string> Reference = new(() =>
    {
        using var disk = TestDisk.Create();
        var r = disk.Run();
        Assert.True(r.ExitCode == 0, r.Out + r.Error);
        return disk.Fingerprint();
    });

    /// <summary>Every point first boot can be cut at.</summary>
    public static TheoryData<string> Points()
    {
        var points = new TheoryData<string>();
        foreach (var step in FirstbootRun.Steps)
        {
            points.Add($"before:{step}");
            points.Add($"after:{step}");
        }
        foreach (var inside in new[] { "partition:table-written", "partition:mkfs-done", "secrets:copied", "secrets:size-cut", "secrets:wiped", "runtime:configured", "runtime:started" })
            points.Add(inside);
        return points;
    }

    /// <summary>Cut at <paramref name="point"/>, run again: the same end state, DATA kept, the secrets on DATA only.</summary>
    [Theory]
    [MemberData(nameof(Points))]
    public void CutAt_ThenRunAgain_EndsAsAnUninterruptedRun(string point)
    {
        if (LoopDevice.Unavailable() is { } why) Assert.Skip(why);
        string reference = Reference.Value;
        using var disk = TestDisk.Create();

        var cut = disk.Run(stopAt: point);
        Assert.True(cut.ExitCode == 137, $"expected SIGKILL (137) at {point}, got {cut.ExitCode}\n{cut.Out}{cut.Error}");
        Assert.Contains($"stopping at {point}", cut.Error);

        string? marker = null;
        if (disk.DataMounted)
        {
            marker = Path.Combine(disk.Paths.Data, "keep", "before-the-cut");
            Directory.CreateDirectory(Path.GetDirectoryName(marker)!);
            using (var f = new FileStream(marker, FileMode.Create, FileAccess.Write))
            {
                f.Write(Encoding.UTF8.GetBytes(point));
                f.Flush(flushToDisk: true);
            }
        }

        var again = disk.Run();
        Assert.True(again.ExitCode == 0, again.Out + again.Error);
        if (marker is not null) Assert.Equal(point, File.ReadAllText(marker));

        Assert.Equal(Path.Combine(disk.Paths.Runtime, "token"), SecretsOnData(disk).Single(p => File.ReadAllText(p).Contains(TestDisk.Token)));
        var fingerprint = disk.Fingerprint();
        Assert.Equal(reference, fingerprint);
        AssertNoSecretOnBoot(disk);
    }

    /// <summary>The files on DATA holding the token, each once and 0600.</summary>
    internal static List<string> SecretsOnData(TestDisk disk)
    {
        var files = Directory.EnumerateFiles(disk.Paths.Data, "*", SearchOption.AllDirectories)
            .Where(f => !f.Contains("/logs/")).Where(f => File.ReadAllText(f).Contains(TestDisk.Token) || File.ReadAllText(f).Contains(TestDisk.KeyMarker)).ToList();
        foreach (var f in files) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(f));
        Assert.Equal(2, files.Count); // runtime/token and runtime/tls/server-ca.key
        return files;
    }

    /// <summary>Neither the token's secret nor the CA key's bytes are anywhere on the boot partition, free clusters included.</summary>
    internal static void AssertNoSecretOnBoot(TestDisk disk)
    {
        var raw = disk.BootBytes();
        Assert.Equal(-1, raw.AsSpan().IndexOf("power-cut-secret-7f3e9c"u8));
        Assert.Equal(-1, raw.AsSpan().IndexOf(Encoding.ASCII.GetBytes(TestDisk.KeyMarker)));
        Assert.Equal(-1, raw.AsSpan().IndexOf("clusterToken"u8));
    }
}

/// <summary>Tests that attach loop devices and mount run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LoopCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "loop devices";
}
