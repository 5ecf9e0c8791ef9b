// Acceptance: first boot killed (SIGKILL) at every step boundary and inside steps 1, 2 and 5, then run again, ends as an uninterrupted run.
using System.Text;
using Appliance.Firstboot.Tests.Support;
using Appliance.ImageBuilder.Tests.Build;

namespace Appliance.Firstboot.Tests;

/// <summary>
/// The image is made once by <c>appliance build</c> (in-process, on the synthetic OS of the image builder's tests:
/// x86_64-uefi, GPT, site.yaml with the cluster token). Each case copies it to the start of a larger disk, attaches it, runs <c>appliance-firstboot run</c> with a stop point (the process sends itself
/// SIGKILL there), writes a file to DATA when DATA exists by then, runs it again to the end, and compares the disk
/// with one that ran uninterrupted: partition table, data file system, journal and secret files, boot partition.
/// The file written before the cut must survive, and the token and CA key must be on DATA only, nowhere in the raw
/// bytes of the boot partition.
/// </summary>
[Collection(LoopCollection.Name)]
[Trait("Category", "External")]
public sealed class PowerCutTests(BuiltImage image) : IClassFixture<BuiltImage>
{
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
        TestDisk.RequireLoop();
        string reference = image.Reference;
        using var disk = image.Attach();

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

        Assert.Equal([Path.Combine(disk.Paths.Runtime, "token")], SecretsOnData(disk));
        var fingerprint = disk.Fingerprint();
        Assert.Equal(reference, fingerprint);
        AssertNoSecretOnBoot(disk);
    }

    /// <summary>The files on DATA holding a secret: each secret in exactly one file, which is 0600.</summary>
    internal static List<string> SecretsOnData(TestDisk disk)
    {
        var files = Directory.EnumerateFiles(disk.Paths.Data, "*", SearchOption.AllDirectories).Where(f => !f.Contains("/logs/")).ToList();
        var holding = new List<string>();
        foreach (var secret in disk.Secrets)
        {
            var with = files.Where(f => File.ReadAllText(f).Contains(secret)).ToList();
            Assert.True(with.Count == 1, $"{secret[..12]}… is in {with.Count} files on DATA: {string.Join(", ", with)}");
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(with[0]));
            holding.Add(with[0]);
        }
        return holding.Distinct().Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>No secret's bytes are anywhere on the boot partition, free clusters included, nor the secrets document.</summary>
    internal static void AssertNoSecretOnBoot(TestDisk disk)
    {
        var raw = disk.BootBytes();
        foreach (var secret in disk.Secrets)
            Assert.True(raw.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret)) < 0, $"the boot partition still holds {secret[..12]}…");
        Assert.Equal(-1, raw.AsSpan().IndexOf("clusterToken"u8));
    }
}

/// <summary>
/// One image made by <c>appliance build</c> for the whole class, and the fingerprint of a disk that ran first boot
/// uninterrupted on it.
/// </summary>
public sealed class BuiltImage : IDisposable
{
    /// <summary>The disk the image is copied onto: larger than the profile's 2 GiB diskSize.</summary>
    public const long DiskBytes = 2560L << 20;

    /// <summary>The token the synthetic profile's tokenFile holds.</summary>
    public const string Token = "synthetic-token-0123456789";

    private readonly SyntheticOs _os = new();
    private string? _reference;

    /// <summary>Builds the image.</summary>
    public BuiltImage()
    {
        var profile = _os.Profile("shop-042");
        Assert.Equal(Token + "\n", File.ReadAllText(Path.Combine(Path.GetDirectoryName(profile)!, "token")));
        ImagePath = _os.Build(profile, Path.Combine(_os.Dir, "out")).ImagePath;
    }

    /// <summary>The built image.</summary>
    public string ImagePath { get; }

    /// <summary>A fresh disk holding the image.</summary>
    public TestDisk Attach() => TestDisk.FromImage(ImagePath, DiskBytes, [Token]);

    /// <summary>What an uninterrupted first boot leaves (computed on first use).</summary>
    public string Reference
    {
        get
        {
            if (_reference is not null) return _reference;
            using var disk = Attach();
            var r = disk.Run();
            Assert.True(r.ExitCode == 0, r.Out + r.Error);
            PowerCutTests.AssertNoSecretOnBoot(disk);
            return _reference = disk.Fingerprint();
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _os.Dispose();
}

/// <summary>Tests that attach loop devices and mount run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LoopCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "loop devices";
}
