// Each way first boot can fail ends with the reason in status.json and the banner, and harms nothing on the disk.
using System.Text.Json.Nodes;
using Appliance.Firstboot.Site;
using Appliance.Firstboot.Tests.Support;

namespace Appliance.Firstboot.Tests;

/// <summary>A missing or corrupt site.yaml, a disk too small for the site, a runtime that does not start.</summary>
[Collection(LoopCollection.Name)]
[Trait("Category", "External")]
public sealed class FailureTests
{
    private static string Reason(TestDisk disk) =>
        JsonNode.Parse(File.ReadAllText(disk.Paths.Status))!["reason"]?.GetValue<string>() ?? "(no reason)";

    /// <summary>A disk smaller than target.diskSize: exit 1, the sizes in the reason, the partition table untouched.</summary>
    [Fact]
    public void DiskSmallerThanTheSiteNeeds_StopsWithTheSizes_TableUntouched()
    {
        TestDisk.RequireLoop();
        using var disk = TestDisk.Create(siteYaml: TestDisk.SiteYaml(minimumDisk: "4GiB"));
        var before = ProcessRunner.Run("sfdisk", ["--dump", disk.Device]).Ok().Out;
        var r = disk.Run();
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("is 1.5 GiB, smaller than the 4 GiB this site needs (target.diskSize)", Reason(disk));
        Assert.Contains("FAILED    at partition: the disk", r.Out);
        Assert.Equal(before, ProcessRunner.Run("sfdisk", ["--dump", disk.Device]).Ok().Out);
        Assert.False(disk.DataMounted);
        var status = TestDisk.Firstboot(["status", "--root", disk.Root]);
        Assert.Equal(1, status.ExitCode);
        Assert.Contains("smaller than the 4 GiB", status.Out);
    }

    /// <summary>No site.yaml on the boot partition: the reason names the file; nothing is partitioned.</summary>
    [Fact]
    public void MissingSiteYaml_EndsWithTheReason()
    {
        TestDisk.RequireLoop();
        using var disk = TestDisk.Create(withSiteYaml: false);
        var before = ProcessRunner.Run("sfdisk", ["--dump", disk.Device]).Ok().Out;
        var r = disk.Run();
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("appliance/site.yaml not found", Reason(disk));
        Assert.Contains("FAILED    at site:", r.Out);
        Assert.Equal(before, ProcessRunner.Run("sfdisk", ["--dump", disk.Device]).Ok().Out);
    }

    /// <summary>A site.yaml that is not YAML: the reason gives line and column.</summary>
    [Fact]
    public void CorruptSiteYaml_EndsWithTheReasonAndWhere()
    {
        TestDisk.RequireLoop();
        using var disk = TestDisk.Create(siteYaml: "apiVersion: appliance/v1\nmetadata: {name: [unclosed\n");
        var r = disk.Run();
        Assert.Equal(1, r.ExitCode);
        Assert.Matches(@"^boot:appliance/site\.yaml:\d+:\d+: not valid YAML", Reason(disk));
    }

    /// <summary>
    /// A runtime that does not start: the reason is the runtime's, the node state says failed, and the boot is not
    /// blessed (the loader entry keeps its counter; the journal has no bless).
    /// </summary>
    [Fact]
    public async Task RuntimeThatDoesNotStart_EndsWithItsReason_AndTheBootIsNotBlessed()
    {
        TestDisk.RequireLoop();
        using var disk = TestDisk.Create();
        using var console = new StringWriter();
        var log = new FirstbootLog(console, Path.Combine(disk.Paths.Run, "firstboot.log"));
        var run = new FirstbootRun(new RunOptions(disk.Paths, disk.Boot, disk.Device, "a", SetClock: false, Supervise: false), new FailingRuntime(), log);
        int code = await run.RunAsync(TestContext.Current.CancellationToken);
        Assert.Equal(1, code);
        Assert.Equal("containerd exited with code 1: /var/lib/appliance/data/containerd: read-only file system", Reason(disk));
        Assert.Equal("runtime", JsonNode.Parse(File.ReadAllText(disk.Paths.Status))!["step"]!.GetValue<string>());
        Assert.DoesNotContain("bless", File.ReadAllText(disk.Paths.Journal));
        Assert.Contains("appliance-a+3.conf", ProcessRunner.Run("mdir", ["-b", "-i", disk.Boot, "::loader/entries"]).Ok().Out);
        Assert.Contains("FAILED at runtime: containerd exited with code 1", console.ToString());
    }

    /// <summary>
    /// A node that never turns Ready (an agent whose server cannot be reached): the banner is on the console with state
    /// waiting and the reason as soon as the wait reports it, and status.json says the same while it waits; when the
    /// wait gives up, the run ends NotReady with the reason, and the waiting line is gone.
    /// </summary>
    [Fact]
    public async Task NodeThatIsNotReady_ShowsTheBannerWhileWaiting_ThenEndsNotReady()
    {
        TestDisk.RequireLoop();
        using var disk = TestDisk.Create();
        using var console = new StringWriter();
        var log = new FirstbootLog(console, Path.Combine(disk.Paths.Run, "firstboot.log"));
        // The banner goes to standard output (the console), the log lines to the log's writer.
        using var banner = new StringWriter();
        var stdout = System.Console.Out;
        System.Console.SetOut(banner);
        var actions = new UnreachableServer(disk.Paths, banner);
        try
        {
            var run = new FirstbootRun(new RunOptions(disk.Paths, disk.Boot, disk.Device, "a", SetClock: false, Supervise: false), actions, log);
            Assert.Equal(1, await run.RunAsync(TestContext.Current.CancellationToken));
        }
        finally { System.Console.SetOut(stdout); }
        Assert.NotNull(actions.StatusWhileWaiting);
        Assert.Equal("waiting", actions.StatusWhileWaiting!["node"]!["state"]!.GetValue<string>());
        Assert.Equal(UnreachableServer.Why, actions.StatusWhileWaiting["waiting"]!.GetValue<string>());
        Assert.Matches(@"^Appliance site \S+ \(\w+\), node \S+: waiting\r?\n  API .*\r?\n  image .*\r?\n  WAITING   " + System.Text.RegularExpressions.Regex.Escape(UnreachableServer.Why),
            actions.BannerWhileWaiting);
        var end = JsonNode.Parse(File.ReadAllText(disk.Paths.Status))!;
        Assert.Equal("NotReady", end["node"]!["state"]!.GetValue<string>());
        Assert.Null(end["waiting"]);
        Assert.Contains("FAILED at ready: the node is NotReady: not Ready after 900 s", console.ToString());
    }

    private sealed class UnreachableServer(FirstbootPaths paths, StringWriter banner) : IDeviceActions
    {
        public const string Why = "node node1 not Ready yet: no credentials yet: the agent has not joined https://192.0.2.10:6443 yet, which cannot be reached (no answer within 3 s)";
        public JsonNode? StatusWhileWaiting { get; private set; }
        public string? BannerWhileWaiting { get; private set; }

        public Task ConfigureNetworkAsync(SiteConfig site, CancellationToken ct) => Task.CompletedTask;

        public Task<IRuntimeSupervisor> StartRuntimeAsync(RuntimeLaunch launch, CancellationToken ct) =>
            new DisabledDeviceActions(_ => { }).StartRuntimeAsync(launch, ct);

        public Task<NodeReadiness> WaitReadyAsync(RuntimeLaunch launch, IProgress<string> progress, CancellationToken ct)
        {
            progress.Report(Why);
            StatusWhileWaiting = JsonNode.Parse(File.ReadAllText(paths.Status));
            BannerWhileWaiting = banner.ToString();
            return Task.FromResult(new NodeReadiness("NotReady", "not Ready after 900 s: " + Why));
        }

        public Task PowerOffAsync(CancellationToken ct) => throw new InvalidOperationException("not reached");
    }

    private sealed class FailingRuntime : IDeviceActions
    {
        public Task ConfigureNetworkAsync(SiteConfig site, CancellationToken ct) => Task.CompletedTask;

        public Task<IRuntimeSupervisor> StartRuntimeAsync(RuntimeLaunch launch, CancellationToken ct) =>
            throw new IOException("containerd exited with code 1: /var/lib/appliance/data/containerd: read-only file system");

        public Task<NodeReadiness> WaitReadyAsync(RuntimeLaunch launch, IProgress<string> progress, CancellationToken ct) =>
            throw new InvalidOperationException("not reached");

        public Task PowerOffAsync(CancellationToken ct) => throw new InvalidOperationException("not reached");
    }
}
