// Images imported by PreloadedImages are what CRI sees and runs: the pause sandbox and a container from a short-named docker-save image.
using Appliance.ClusterRuntime.Agent.Cri.V1;
using Appliance.ClusterRuntime.Agent.Images;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Agent;

[Trait("Category", "External")]
public sealed class ImageImportCriTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ImportedImages_AreFoundByCri_AndRunASandboxAndAContainer()
    {
        // No image is imported by ctr here: the pause image and busybox come only through our importer.
        await using var host = await ContainerdHost.StartAsync(importImages: false);
        var dir = host["images"];
        Directory.CreateDirectory(dir);
        File.Copy(PauseImage.Archive, Path.Combine(dir, "pause.oci.tar"));
        File.Copy(ImageImportArchives.Fixture("busybox-multi.oci.tar"), Path.Combine(dir, "busybox-multi.oci.tar"));
        ImageImportArchives.DockerSaveTagged(Path.Combine(dir, "busybox.tar"), "busybox:cri");
        Directory.CreateDirectory(host["agent"]);
        using (var preloaded = new PreloadedImages(host.Supervisor.SocketPath, host["agent"], new LogLines()))
        {
            var outcomes = await preloaded.ImportAsync([dir], Ct);
            Assert.All(outcomes, o => Assert.True(o.Status == ArchiveStatus.Imported, $"{o.Path}: {o.Error}"));
        }

        // CRI normalizes the short name it is asked for, and finds the record stored under the normalized name.
        var status = await Poll.UntilAsync(
            async () => (await host.Cri.Images.ImageStatusAsync(new() { Image = new() { Image = "busybox:cri" } }, cancellationToken: Ct)).Image,
            i => i is not null, TimeSpan.FromSeconds(10), "CRI ImageStatus of busybox:cri");
        Assert.Contains("docker.io/library/busybox:cri", status!.RepoTags);
        var listed = (await host.Cri.Images.ListImagesAsync(new(), cancellationToken: Ct)).Images.SelectMany(i => i.RepoTags).ToList();
        Assert.Contains(PauseImage.Name, listed);
        Assert.Contains(ContainerdHost.Busybox, listed);

        var uid = Guid.NewGuid().ToString();
        var pod = new PodSandboxConfig
        {
            Metadata = new() { Name = "preloaded", Namespace = "default", Uid = uid },
            LogDirectory = host[$"pods/{uid}"],
            Linux = new() { SecurityContext = new() { NamespaceOptions = new() { Network = NamespaceMode.Node } } },
        };
        Directory.CreateDirectory(pod.LogDirectory);
        var sandbox = (await host.Cri.Runtime.RunPodSandboxAsync(new() { Config = pod }, cancellationToken: Ct)).PodSandboxId;
        foreach (var (name, image) in new[] { ("short", "busybox:cri"), ("multi", ContainerdHost.Busybox) })
        {
            // containerd 1.6's CRI unpacks the image into overlayfs here, on its first container.
            var created = await host.Cri.Runtime.CreateContainerAsync(new()
            {
                PodSandboxId = sandbox,
                SandboxConfig = pod,
                Config = new()
                {
                    Metadata = new() { Name = name },
                    Image = new() { Image = image },
                    Command = { "sh", "-c", $"echo from-{name}; sleep 600" },
                    LogPath = $"{name}/0.log",
                },
            }, cancellationToken: Ct);
            await host.Cri.Runtime.StartContainerAsync(new() { ContainerId = created.ContainerId }, cancellationToken: Ct);
            var state = (await host.Cri.Runtime.ContainerStatusAsync(new() { ContainerId = created.ContainerId }, cancellationToken: Ct)).Status.State;
            Assert.Equal(ContainerState.ContainerRunning, state);
            var log = Path.Combine(pod.LogDirectory, name, "0.log");
            await Poll.UntilAsync(() => Task.FromResult(File.Exists(log) ? File.ReadAllText(log) : "(no file)"),
                text => text.Contains($"stdout F from-{name}"), TimeSpan.FromSeconds(10), $"the container's output in {log}");
        }
    }
}
