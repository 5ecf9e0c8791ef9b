// kubectl exec end to end: kubectl → server (pods/exec WebSocket) → our kubelet API → containerd task exec → busybox.
using System.Text;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Agent;

[Trait("Category", "External")]
public sealed class ExecTests(KubeletHost.Fixture node) : IClassFixture<KubeletHost.Fixture>
{
    KubeletHost Host => node.Host;

    async Task<Support.Kubectl> RunningPodAsync()
    {
        await Host.StartAsync();
        if (await Host.PodAsync("default", "shell") is null)
            await Host.CreatePodAsync("shell", new JsonObject
            {
                ["terminationGracePeriodSeconds"] = 1,
                ["containers"] = new JsonArray(new JsonObject
                {
                    ["name"] = "main",
                    ["image"] = ContainerdHost.Busybox,
                    // The fixture has only sh: the applets become commands (echo, cat, tar) first.
                    ["command"] = new JsonArray("sh", "-c", "busybox --install -s /bin && touch /tmp/ready && exec sleep 3600"),
                    ["env"] = new JsonArray(new JsonObject { ["name"] = "GREETING", ["value"] = "from the pod spec" }),
                }),
            });
        await Host.WaitPodAsync("shell", p => p["status"]?["phase"]?.GetValue<string>() == "Running", TimeSpan.FromSeconds(60), "pod shell running");
        await Poll.UntilAsync(async () => (await Host.Kubectl.RunAsync("exec", "shell", "--", "sh", "-c", "test -e /tmp/ready && echo ready")).Out,
            o => o.Contains("ready"), TimeSpan.FromSeconds(30), "busybox applets installed");
        return Host.Kubectl;
    }

    Task<ProcessResult> Kubectl(byte[]? stdin, params string[] args) =>
        ProcessRunner.RunAsync(Support.Kubectl.Path, [.. KubectlArgs(), .. args], new ProcessOptions
        {
            Stdin = stdin,
            Environment = new Dictionary<string, string?> { ["HOME"] = Path.GetTempPath() },
            Timeout = TimeSpan.FromSeconds(60),
        }, TestContext.Current.CancellationToken);

    string[] KubectlArgs() => ["--kubeconfig", Host.KubeconfigPath];

    [Fact]
    public async Task ExecPrintsOutput_WithTheContainersEnvironment()
    {
        var kubectl = await RunningPodAsync();
        var r = (await kubectl.RunAsync("exec", "shell", "--", "echo", "hi")).Ok();
        Assert.Equal("hi\n", r.Out);
        var env = (await kubectl.RunAsync("exec", "shell", "--", "sh", "-c", "echo \"$GREETING\"; echo err >&2")).Ok();
        Assert.Equal("from the pod spec\n", env.Out);
        Assert.Contains("err", env.Error);
    }

    [Fact]
    public async Task StdinReachesTheProcess_AndItsEndEndsTheCommand()
    {
        await RunningPodAsync();
        var payload = string.Concat(Enumerable.Range(0, 20000).Select(i => $"line {i}\n"));
        var r = await Kubectl(Encoding.UTF8.GetBytes(payload), "exec", "-i", "shell", "--", "cat");
        Assert.True(r.ExitCode == 0, r.Error);
        Assert.Equal(payload, r.Out);
        var counted = await Kubectl(Encoding.UTF8.GetBytes("a\nb\nc\n"), "exec", "-i", "shell", "--", "wc", "-l");
        Assert.Equal("3", counted.Out.Trim());
    }

    [Fact]
    public async Task ExitCodeIsKubectls()
    {
        var kubectl = await RunningPodAsync();
        var r = await kubectl.RunAsync("exec", "shell", "--", "sh", "-c", "exit 3");
        Assert.Equal(3, r.ExitCode);
        Assert.Contains("command terminated with exit code 3", r.Error);
    }

    [Fact]
    public async Task TtyGivesATerminal()
    {
        await RunningPodAsync();
        if (!File.Exists("/usr/bin/script")) Assert.Skip("script (util-linux) is not installed: kubectl -it needs a terminal");
        var command = string.Join(' ', KubectlArgs().Select(a => $"'{a}'")) + " exec -it shell -- sh -c 'tty; sleep 1; stty size'";
        var r = await ProcessRunner.RunAsync("/usr/bin/script", ["-qec", $"COLUMNS=100 LINES=30 stty cols 100 rows 30; {Support.Kubectl.Path} {command}", "/dev/null"],
            new ProcessOptions { Timeout = TimeSpan.FromSeconds(60), Environment = new Dictionary<string, string?> { ["HOME"] = Path.GetTempPath() } }, TestContext.Current.CancellationToken);
        Assert.True(r.ExitCode == 0, r.Out + r.Error);
        Assert.Matches(@"/dev/pts/\d+", r.Out);
        // kubectl sends the size as the stream opens, racing the process's start (as upstream): it is read a moment later.
        Assert.Contains("30 100", r.Out);
    }

    [Fact]
    public async Task MissingContainerOrCommandIsAClearError()
    {
        var kubectl = await RunningPodAsync();
        var missing = await kubectl.RunAsync("exec", "shell", "-c", "nosuch", "--", "true");
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("container nosuch is not valid for pod shell", missing.Error);
        var noPod = await kubectl.RunAsync("exec", "nopod", "--", "true");
        Assert.Contains("pods \"nopod\" not found", noPod.Error);
        var noBinary = await kubectl.RunAsync("exec", "shell", "--", "/no/such/binary");
        Assert.NotEqual(0, noBinary.ExitCode);
        Assert.Contains("/no/such/binary", noBinary.Error);
    }

    [Fact]
    public async Task KubectlCpCopiesBothWays()
    {
        var kubectl = await RunningPodAsync();
        using var dir = new TempDir("exec-cp-");
        var local = dir.Write("up.txt", "copied up\n");
        (await kubectl.RunAsync("cp", local, "default/shell:/tmp/up.txt")).Ok();
        Assert.Equal("copied up\n", (await kubectl.RunAsync("exec", "shell", "--", "cat", "/tmp/up.txt")).Ok().Out);
        (await kubectl.RunAsync("cp", "default/shell:/tmp/up.txt", dir["down.txt"])).Ok();
        Assert.Equal("copied up\n", File.ReadAllText(dir["down.txt"]));
    }

    [Fact]
    public async Task AContainerThatIsNotRunningIsNamedByTheKubelet()
    {
        var kubectl = await RunningPodAsync();
        // The image is never there (no pulls): the sandbox is ready, the container never starts.
        await Host.CreatePodAsync("waiting", new JsonObject
        {
            ["terminationGracePeriodSeconds"] = 1,
            ["containers"] = new JsonArray(new JsonObject { ["name"] = "main", ["image"] = "example.local/never-imported:1" }),
        });
        await Host.WaitPodAsync("waiting", p => p["status"]?["containerStatuses"]?[0]?["state"]?["waiting"]?["reason"] is not null,
            TimeSpan.FromSeconds(60), "pod waiting for its image");
        var r = await kubectl.RunAsync("exec", "waiting", "--", "true");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("container not found (\"main\") running in pod default/waiting", r.Error);
    }

    [Fact]
    public async Task AKubectlThatGoesAwayTakesItsProcessWithIt()
    {
        var kubectl = await RunningPodAsync();
        var ct = TestContext.Current.CancellationToken;
        await using (var exec = kubectl.Start("exec", "shell", "--", "sh", "-c", "echo started; exec sleep 777"))
            Assert.True(await exec.WaitUntilAsync(p => p.Out.Contains("started"), TimeSpan.FromSeconds(30), ct), exec.Out + exec.Error);
        // Disposing killed kubectl: the kubelet kills the process it was attached to.
        await Poll.UntilAsync(async () => (await kubectl.RunAsync("exec", "shell", "--", "ps")).Ok().Out,
            ps => !ps.Contains("sleep 777"), TimeSpan.FromSeconds(20), "sleep 777 killed");
    }
}
