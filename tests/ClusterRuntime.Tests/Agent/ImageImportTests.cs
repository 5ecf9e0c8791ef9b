// Preloaded image import against a real containerd 1.6: names, labels, GC references, import-once, broken archives.
using Appliance.ClusterRuntime.Agent.Images;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Tests.Agent;

[Trait("Category", "External")]
public sealed class ImageImportTests
{
    const string FixtureName = "example.local/fixtures/busybox:1.35";
    const string MultiName = "example.local/fixtures/busybox-multi:1.35";

    [Fact]
    public async Task OciArchive_IsListedByContainerd_WithItsNameAndThePreloadedLabel_AndIsComplete()
    {
        await using var containerd = await ContainerdHost.StartAsync(importImages: false);
        var dir = Dir(containerd, "a");
        File.Copy(ImageImportArchives.Fixture("busybox.oci.tar"), Path.Combine(dir, "busybox.oci.tar"));

        var outcomes = await Import(containerd, [dir], new LogLines());

        var o = Assert.Single(outcomes);
        Imported(o);
        Assert.Equal([FixtureName], o.Images.Select(i => i.Name));
        var ls = (await Ctr(containerd, "images", "ls")).Ok().Out;
        var line = Assert.Single(ls.Split('\n'), l => l.StartsWith(FixtureName + " ", StringComparison.Ordinal));
        Assert.Contains("appliance.io/preloaded=true", line);
        // The lease is deleted with a synchronous GC: the image is complete only if the GC labels kept its children.
        var check = (await Ctr(containerd, "images", "check")).Ok().Out;
        Assert.Matches(FixtureName.Replace(".", "\\.") + @"\s.*complete \(2/2\)", check.ReplaceLineEndings(" "));
    }

    [Fact]
    public async Task DockerSaveArchive_ShortNames_AreNormalizedAsCriLooksThemUp()
    {
        await using var containerd = await ContainerdHost.StartAsync(importImages: false);
        var dir = Dir(containerd, "a");
        ImageImportArchives.DockerSaveTagged(Path.Combine(dir, "bb.tar"), "busybox:1", "bars/httpd:1", "registry.example:5000/x/y:2");

        var o = Assert.Single(await Import(containerd, [dir], new LogLines()));

        Imported(o);
        string[] expected = ["docker.io/library/busybox:1", "docker.io/bars/httpd:1", "registry.example:5000/x/y:2"];
        Assert.Equal(expected, o.Images.Select(i => i.Name));
        var check = (await Ctr(containerd, "images", "check")).Ok().Out;
        foreach (var name in expected)
            Assert.Matches(name.Replace(".", "\\.") + @"\s.*complete \(2/2\)", check);
    }

    [Fact]
    public async Task UnchangedArchive_IsSkippedOnTheNextStart_AndASameSizeReplacementIsImportedAgain()
    {
        await using var containerd = await ContainerdHost.StartAsync(importImages: false);
        var dir = Dir(containerd, "a");
        var archive = ImageImportArchives.DockerSaveTagged(Path.Combine(dir, "app.tar"), "app:aaaa");
        var first = Assert.Single(await Import(containerd, [dir], new LogLines()));
        Imported(first);

        var log = new LogLines();
        var second = Assert.Single(await Import(containerd, [dir], log));
        Assert.Equal(ArchiveStatus.Skipped, second.Status);
        Assert.Contains(log.Lines, l => l.Contains(archive) && l.Contains("unchanged") && l.Contains(" ms"));

        var size = new FileInfo(archive).Length;
        var mtime = File.GetLastWriteTimeUtc(archive);
        ImageImportArchives.DockerSaveTagged(archive, "app:bbbb");
        File.SetLastWriteTimeUtc(archive, mtime);
        Assert.Equal(size, new FileInfo(archive).Length);
        var third = Assert.Single(await Import(containerd, [dir], new LogLines()));
        Imported(third);
        Assert.Equal(["docker.io/library/app:bbbb"], third.Images.Select(i => i.Name));
        Assert.Contains("docker.io/library/app:bbbb", (await Ctr(containerd, "images", "ls", "-q")).Ok().Out);
    }

    [Fact]
    public async Task TwoArchivesNamingOneImage_AreBothSkippedOnTheNextStart()
    {
        await using var containerd = await ContainerdHost.StartAsync(importImages: false);
        var dir = Dir(containerd, "a");
        // Same name, different targets (the OCI and the docker-save manifests differ): the later archive wins.
        ImageImportArchives.DockerSaveTagged(Path.Combine(dir, "1.tar"), FixtureName);
        File.Copy(ImageImportArchives.Fixture("busybox.oci.tar"), Path.Combine(dir, "2.tar"));
        Assert.All(await Import(containerd, [dir], new LogLines()), Imported);

        var again = await Import(containerd, [dir], new LogLines());

        Assert.All(again, o => Assert.Equal(ArchiveStatus.Skipped, o.Status));
        Assert.Equal([FixtureName], again[1].Images.Select(i => i.Name));
        Assert.Empty(again[0].Images);
    }

    [Fact]
    public async Task ImageRemovedFromContainerd_BringsAReimportOfAnUnchangedArchive()
    {
        await using var containerd = await ContainerdHost.StartAsync(importImages: false);
        var dir = Dir(containerd, "a");
        File.Copy(ImageImportArchives.Fixture("busybox.oci.tar"), Path.Combine(dir, "busybox.oci.tar"));
        await Import(containerd, [dir], new LogLines());
        (await Ctr(containerd, "images", "rm", FixtureName)).Ok();

        var o = Assert.Single(await Import(containerd, [dir], new LogLines()));

        Imported(o);
    }

    [Fact]
    public async Task BrokenArchives_AreReportedInOneLineNamingTheFile_AndTheOthersStillImport()
    {
        await using var containerd = await ContainerdHost.StartAsync(importImages: false);
        var a = Dir(containerd, "a");
        var b = Dir(containerd, "b");
        // Cut inside the 1.9 MB layer blob: the tar ends early.
        var truncated = ImageImportArchives.Truncated(ImageImportArchives.Fixture("busybox.oci.tar"), Path.Combine(a, "1-truncated.tar"), 1_000_000);
        var notTar = Path.Combine(a, "2-not-an-archive.tar.gz");
        File.WriteAllText(notTar, "this is not gzip");
        var noIndex = ImageImportArchives.Truncated(ImageImportArchives.Fixture("busybox.oci.tar"), Path.Combine(a, "3-empty.tar"), 0);
        var corrupt = ImageImportArchives.Corrupted(ImageImportArchives.Fixture("busybox-gzip.oci.tar"), Path.Combine(a, "3a-corrupt.tar"));
        ImageImportArchives.Gzip(ImageImportArchives.Fixture("busybox.docker.tar"), Path.Combine(a, "4-busybox.tar.gz"));
        ImageImportArchives.Zstd(ImageImportArchives.Fixture("busybox-multi.oci.tar"), Path.Combine(b, "multi.tar.zst"));
        File.WriteAllText(Path.Combine(b, "README.txt"), "not an archive name: ignored");
        var log = new LogLines();

        var outcomes = await Import(containerd, [a, b, containerd["missing"]], log);

        Assert.Equal(["1-truncated.tar", "2-not-an-archive.tar.gz", "3-empty.tar", "3a-corrupt.tar", "4-busybox.tar.gz", "multi.tar.zst"],
            outcomes.Select(o => Path.GetFileName(o.Path)));
        Assert.Equal([ArchiveStatus.Failed, ArchiveStatus.Failed, ArchiveStatus.Failed, ArchiveStatus.Failed, ArchiveStatus.Imported, ArchiveStatus.Imported],
            outcomes.Select(o => o.Status));
        foreach (var bad in new[] { truncated, notTar, noIndex, corrupt })
            Assert.Single(log.Lines, l => l.Contains(bad) && l.Contains("not imported"));
        Assert.Contains("ends after", outcomes[0].Error);
        Assert.Contains("does not start with the gzip magic", outcomes[1].Error);
        Assert.Contains("neither index.json", outcomes[2].Error);
        Assert.Matches("member 'blobs/sha256/[0-9a-f]{64}': content does not match its name", outcomes[3].Error);
        var check = (await Ctr(containerd, "images", "check")).Ok().Out;
        Assert.Matches(FixtureName.Replace(".", "\\.") + @"\s.*complete", check);
        Assert.Matches(MultiName.Replace(".", "\\.") + @"\s.*complete", check);
        Assert.DoesNotContain("incomplete", check);
    }

    static void Imported(ArchiveOutcome o) => Assert.True(o.Status == ArchiveStatus.Imported, $"{o.Path}: {o.Status} {o.Error}");

    static async Task<ProcessResult> Ctr(ContainerdHost c, params string[] args) =>
        await ProcessRunner.RunAsync("ctr", ["-a", c.Supervisor.SocketPath, "-n", "k8s.io", .. args], ct: TestContext.Current.CancellationToken);

    static string Dir(ContainerdHost c, string name)
    {
        Directory.CreateDirectory(c[name]);
        return c[name];
    }

    static async Task<IReadOnlyList<ArchiveOutcome>> Import(ContainerdHost c, string[] dirs, LogLines log)
    {
        Directory.CreateDirectory(c["agent"]);
        using var images = new PreloadedImages(c.Supervisor.SocketPath, c["agent"], log);
        return await images.ImportAsync(dirs, TestContext.Current.CancellationToken);
    }
}

/// <summary>An ILogger that keeps its formatted lines.</summary>
internal sealed class LogLines : ILogger
{
    public List<string> Lines { get; } = [];

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (Lines) Lines.Add($"{logLevel}: {formatter(state, exception)}");
    }
}
