// kubectl attach and port-forward end to end: kubectl → server (pods/attach WebSocket, pods/portforward SPDY in WebSocket) → our kubelet API → containerd.
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Agent;

[Trait("Category", "External")]
public sealed class AttachPortForwardTests(KubeletHost.Fixture node) : IClassFixture<KubeletHost.Fixture>
{
    KubeletHost Host => node.Host;

    async Task RunningAsync(string name, JsonObject container)
    {
        await Host.StartAsync();
        if (await Host.PodAsync("default", name) is null)
            await Host.CreatePodAsync(name, new JsonObject { ["terminationGracePeriodSeconds"] = 1, ["containers"] = new JsonArray(container) });
        await Host.WaitPodAsync(name, p => p["status"]?["phase"]?.GetValue<string>() == "Running", TimeSpan.FromSeconds(60), $"pod {name} running");
    }

    ChildProcess Kubectl(byte[]? stdin, params string[] args) =>
        ProcessRunner.Start(Support.Kubectl.Path, ["--kubeconfig", Host.KubeconfigPath, .. args], new ProcessOptions
        {
            Stdin = stdin,
            Environment = new Dictionary<string, string?> { ["HOME"] = Path.GetTempPath() },
            Timeout = TimeSpan.FromSeconds(120),
        });

    Task WebAsync() => RunningAsync("web", new JsonObject
    {
        ["name"] = "main",
        ["image"] = ContainerdHost.Busybox,
        // 8080 on every address, 8081 on the pod's loopback only.
        ["command"] = new JsonArray("/bin/busybox", "sh", "-c",
            "/bin/busybox mkdir -p /www /local && echo 'page of web' > /www/index.html && echo 'loopback only' > /local/index.html"
            + " && /bin/busybox httpd -p 127.0.0.1:8081 -h /local && exec /bin/busybox httpd -f -p 8080 -h /www"),
    });

    static async Task<int> ForwardedPortAsync(ChildProcess kubectl, int remote)
    {
        var pattern = new Regex($@"Forwarding from 127\.0\.0\.1:(\d+) -> {remote}\b");
        Assert.True(await kubectl.WaitUntilAsync(p => pattern.IsMatch(p.Out) || p.HasExited, TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken),
            kubectl.Out + kubectl.Error);
        var m = pattern.Match(kubectl.Out);
        Assert.True(m.Success, $"kubectl port-forward did not start: {kubectl.Out}{kubectl.Error}");
        return int.Parse(m.Groups[1].Value);
    }

    [Fact]
    public async Task AttachShowsTheOutputOfTheRunningProcess()
    {
        await RunningAsync("ticker", new JsonObject
        {
            ["name"] = "main",
            ["image"] = ContainerdHost.Busybox,
            ["command"] = new JsonArray("/bin/busybox", "sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); /bin/busybox sleep 0.5; done"),
        });
        await using var attach = Kubectl(null, "attach", "ticker");
        // Lines printed after the attach began: at least two further ticks arrive while it runs.
        Assert.True(await attach.WaitUntilAsync(p => Regex.Matches(p.Out, @"tick \d+").Count >= 3, TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken),
            attach.Out + attach.Error);
        var numbers = Regex.Matches(attach.Out, @"tick (\d+)").Select(m => int.Parse(m.Groups[1].Value)).ToList();
        Assert.Equal(numbers.OrderBy(n => n), numbers);
    }

    [Fact]
    public async Task AttachWithStdinReachesTheContainersInput()
    {
        await RunningAsync("reader", new JsonObject
        {
            ["name"] = "main",
            ["image"] = ContainerdHost.Busybox,
            ["stdin"] = true,
            // stdinOnce, as kubectl run -i sets it: the end of the attached input is the end of the container's.
            ["stdinOnce"] = true,
            ["command"] = new JsonArray("/bin/busybox", "sh", "-c", "while read line; do echo \"got $line\"; done; echo 'input ended'"),
        });
        await using var attach = Kubectl(Encoding.UTF8.GetBytes("hello\nworld\n"), "attach", "-i", "reader");
        // kubectl's stdin ends after two lines: the loop reads EOF, prints its last line, and the attach ends with it.
        Assert.True(await attach.WaitUntilAsync(p => p.HasExited, TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken), attach.Out + attach.Error);
        Assert.Contains("got hello\ngot world\ninput ended\n", attach.Out);
    }

    [Fact]
    public async Task KubectlRunWithPipedInputEndsAndRemovesThePod()
    {
        await Host.StartAsync();
        // kubectl run -i sets stdin and stdinOnce, waits for the pod (scheduled onto this node), attaches, and with
        // --rm deletes the pod after the attach ended.
        await using var kubectl = Kubectl(Encoding.UTF8.GetBytes("piped line\n"), "run", "once", "-i", "--rm", "--restart=Never",
            $"--image={ContainerdHost.Busybox}", "--command", "--", "/bin/busybox", "sh", "-c", "read l; echo \"got $l\"");
        var run = await kubectl.WaitAsync(TimeSpan.FromSeconds(120), TestContext.Current.CancellationToken);
        Assert.True(run.ExitCode == 0, run.Out + run.Error);
        Assert.Contains("got piped line", run.Out);
        Assert.Contains("pod \"once\" deleted", run.Out + run.Error);
    }

    [Fact]
    public async Task AttachToAMissingContainerOrPodIsAClearError()
    {
        await WebAsync();
        var r = await Host.Kubectl.RunAsync("attach", "web", "-c", "nosuch");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("container nosuch not found in pod web", r.Error); // kubectl checks the spec itself
        var noPod = await Host.Kubectl.RunAsync("attach", "nopod");
        Assert.Contains("pods \"nopod\" not found", noPod.Error);
    }

    [Fact]
    public async Task PortForwardServesPagesOverConcurrentConnections_AndThePodsLoopback()
    {
        await WebAsync();
        await using var forward = Kubectl(null, "port-forward", "pod/web", "0:8080", "0:8081");
        var web = await ForwardedPortAsync(forward, 8080);
        var local = await ForwardedPortAsync(forward, 8081);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        try { await GetAsync(http, web); } catch (Exception e) { await Task.Delay(1000, TestContext.Current.CancellationToken); Assert.Fail(e.Message + forward.Out + forward.Error + Host.ServerLog[^Math.Min(Host.ServerLog.Length, 6000)..]); }
        // Each request on a connection of its own (two at once, then more): each is a pair of SPDY streams.
        var pages = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => GetAsync(http, web)));
        Assert.All(pages, p => Assert.Equal("page of web\n", p));
        for (var i = 0; i < 3; i++) Assert.Equal("page of web\n", await GetAsync(http, web));
        Assert.Equal("loopback only\n", await GetAsync(http, local));
        Assert.False(forward.HasExited, forward.Error);
    }

    static async Task<string> GetAsync(HttpClient http, int port)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{port}/");
        request.Headers.ConnectionClose = true;
        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task AClosedPortIsReportedByKubectl()
    {
        await WebAsync();
        await using var forward = Kubectl(null, "port-forward", "pod/web", "0:9999");
        var port = await ForwardedPortAsync(forward, 9999);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => GetAsync(http, port));
        // kubectl 1.32 prints the error stream's text, then drops the session (client-go closes it after an error).
        Assert.True(await forward.WaitUntilAsync(p => p.Error.Contains("an error occurred forwarding"), TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken),
            forward.Error);
        Assert.Contains("9999", forward.Error);
        Assert.Contains("connect", forward.Error);
        // A new session to an open port works at once.
        await using var again = Kubectl(null, "port-forward", "pod/web", "0:8080");
        Assert.Equal("page of web\n", await GetAsync(http, await ForwardedPortAsync(again, 8080)));
    }

    [Fact]
    public async Task BadPortForwardRequestsAreStatuses()
    {
        await WebAsync();
        var raw = await Host.Kubectl.RunAsync("get", "--raw", "/api/v1/namespaces/default/pods/web/portforward");
        Assert.NotEqual(0, raw.ExitCode);
        Assert.Contains("(BadRequest)", raw.Error);
        Assert.Contains("SPDY/3.1+portforward.k8s.io", raw.Error);
        var badPort = await Host.Kubectl.RunAsync("get", "--raw", "/api/v1/namespaces/default/pods/web/portforward?ports=0");
        Assert.Contains("(BadRequest)", badPort.Error);
        Assert.Contains("invalid port", badPort.Error);
        var noPod = await Host.Kubectl.RunAsync("get", "--raw", "/api/v1/namespaces/default/pods/nopod/portforward");
        Assert.Contains("(NotFound)", noPod.Error);
        var attachNoStream = await Host.Kubectl.RunAsync("get", "--raw", "/api/v1/namespaces/default/pods/web/attach");
        Assert.Contains("(BadRequest)", attachNoStream.Error);
        Assert.Contains("you must specify at least one of stdin, stdout, stderr", attachNoStream.Error);
        // A pod that no node will take (its selector matches none) has no kubelet to forward to.
        if (await Host.PodAsync("default", "nowhere") is null)
            await Host.Api.CreateAsync("/api/v1/namespaces/default/pods", new JsonObject
            {
                ["apiVersion"] = "v1", ["kind"] = "Pod", ["metadata"] = new JsonObject { ["name"] = "nowhere" },
                ["spec"] = new JsonObject
                {
                    ["nodeSelector"] = new JsonObject { ["example.local/no-such-node"] = "true" },
                    ["containers"] = new JsonArray(new JsonObject { ["name"] = "c", ["image"] = ContainerdHost.Busybox }),
                },
            }, TestContext.Current.CancellationToken);
        var unscheduled = await Host.Kubectl.RunAsync("get", "--raw", "/api/v1/namespaces/default/pods/nowhere/portforward");
        Assert.Contains("(BadRequest)", unscheduled.Error);
        Assert.Contains("pod nowhere does not have a host assigned", unscheduled.Error);
    }
}
