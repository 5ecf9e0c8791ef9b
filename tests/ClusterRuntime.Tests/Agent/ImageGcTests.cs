// The image GC on a real containerd: unused images go when the filesystem is over the threshold; preloaded, sandbox and used ones stay.
using Appliance.ClusterRuntime.Agent.Cri.V1;
using Appliance.ClusterRuntime.Agent.Images;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Agent;

[Trait("Category", "External")]
public sealed class ImageGcTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task OverTheThreshold_UnusedImagesAreRemoved_PreloadedSandboxAndUsedImagesStay()
    {
        await using var host = await ContainerdHost.StartAsync(importImages: false);
        var dir = host["images"];
        Directory.CreateDirectory(dir);
        File.Copy(PauseImage.Archive, Path.Combine(dir, "pause.oci.tar"));
        File.Copy(ImageImportArchives.Fixture("busybox-multi.oci.tar"), Path.Combine(dir, "busybox-multi.oci.tar"));
        Directory.CreateDirectory(host["agent"]);
        using (var preloaded = new PreloadedImages(host.Supervisor.SocketPath, host["agent"], new LogLines()))
            Assert.All(await preloaded.ImportAsync([dir], Ct), o => Assert.True(o.Status == ArchiveStatus.Imported, $"{o.Path}: {o.Error}"));
        // Two images that are not preloaded (ctr writes no label), with image IDs of their own.
        var other = host["other"];
        Directory.CreateDirectory(other);
        foreach (var name in new[] { "used", "unused" })
        {
            var archive = ImageImportArchives.DockerSaveVariant(Path.Combine(other, $"{name}.tar"), name, $"example.local/gc/{name}:1");
            (await ProcessRunner.RunAsync("ctr", ["-a", host.Supervisor.SocketPath, "-n", "k8s.io", "images", "import", archive], ct: Ct)).Ok();
        }
        var before = await ImagesAsync(host);
        Assert.Equal(4, before.Select(i => i.Id).Distinct().Count());

        // A stopped container still holds its image.
        var uid = Guid.NewGuid().ToString();
        var pod = new PodSandboxConfig
        {
            Metadata = new() { Name = "gc", Namespace = "default", Uid = uid },
            LogDirectory = host[$"pods/{uid}"],
            Linux = new() { SecurityContext = new() { NamespaceOptions = new() { Network = NamespaceMode.Node } } },
        };
        Directory.CreateDirectory(pod.LogDirectory);
        var sandbox = (await host.Cri.Runtime.RunPodSandboxAsync(new() { Config = pod }, cancellationToken: Ct)).PodSandboxId;
        var created = await host.Cri.Runtime.CreateContainerAsync(new()
        {
            PodSandboxId = sandbox,
            SandboxConfig = pod,
            Config = new() { Metadata = new() { Name = "c" }, Image = new() { Image = "example.local/gc/used:1" }, Command = { "sh", "-c", "exit 0" }, LogPath = "c/0.log" },
        }, cancellationToken: Ct);
        await host.Cri.Runtime.StartContainerAsync(new() { ContainerId = created.ContainerId }, cancellationToken: Ct);

        var log = new LogLines();
        using var cm = new ContainerdConnection(host.Supervisor.SocketPath);
        // Below the high threshold nothing is touched.
        var idle = await new ImageGc(host.Cri, cm, PauseImage.Name, new ImageGcPolicy(HighThresholdPercent: 101) { MinAge = TimeSpan.Zero }, log, TimeProvider.System).CollectAsync(Ct);
        Assert.Empty(idle.Removed);
        // Over it, but every image was first seen just now: too young to go.
        var young = await new ImageGc(host.Cri, cm, PauseImage.Name, new ImageGcPolicy(0, 0), log, TimeProvider.System).CollectAsync(Ct);
        Assert.Empty(young.Removed);
        Assert.True(young.BytesToFree > 0);

        var gc = new ImageGc(host.Cri, cm, PauseImage.Name, new ImageGcPolicy(0, 0) { MinAge = TimeSpan.Zero }, log, TimeProvider.System);
        var result = await gc.CollectAsync(Ct);
        var unusedId = before.Single(i => i.RepoTags.Contains("example.local/gc/unused:1")).Id;
        Assert.Equal([unusedId], result.Removed);
        Assert.True(result.BytesFreed > 0);
        Assert.Contains(log.Lines, l => l.Contains("removed " + unusedId));
        var after = (await ImagesAsync(host)).SelectMany(i => i.RepoTags).ToList();
        Assert.Contains(PauseImage.Name, after);
        Assert.Contains(ContainerdHost.Busybox, after);
        Assert.Contains("example.local/gc/used:1", after);
        Assert.DoesNotContain("example.local/gc/unused:1", after);
        // What is left cannot be freed, and the GC says so.
        Assert.Empty((await gc.CollectAsync(Ct)).Removed);
        Assert.Contains(log.Lines, l => l.Contains("held by images in use or preloaded"));
    }

    static async Task<List<Image>> ImagesAsync(ContainerdHost host) =>
        [.. (await host.Cri.Images.ListImagesAsync(new(), cancellationToken: Ct)).Images];
}
