// Interim test support: a bare containerd 1.6 (root, state and socket in a TempDir) for the image import tests.
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Agent;

/// <summary>containerd started directly with a minimal config; skips the test when containerd or root is missing.</summary>
internal sealed class ImportContainerd : IAsyncDisposable
{
    readonly TempDir _dir;
    readonly ChildProcess _process;

    public string SocketPath => _dir["c.sock"];

    public string this[string relative] => _dir[relative];

    ImportContainerd(TempDir dir, ChildProcess process)
    {
        _dir = dir;
        _process = process;
    }

    public static async Task<ImportContainerd> StartAsync()
    {
        if (!File.Exists("/usr/bin/containerd") || !File.Exists("/usr/bin/ctr")) Assert.Skip("containerd is not installed");
        if (Environment.UserName != "root") Assert.Skip("containerd needs root");
        var dir = new TempDir("img-");
        dir.Write("config.toml", $"""
            version = 2
            root = "{dir["root"]}"
            state = "{dir["state"]}"
            [grpc]
              address = "{dir["c.sock"]}"
            """);
        var p = ProcessRunner.Start("/usr/bin/containerd", ["--config", dir["config.toml"]]);
        var c = new ImportContainerd(dir, p);
        await Poll.UntilAsync("containerd socket", () => Task.FromResult(File.Exists(c.SocketPath)), TimeSpan.FromSeconds(30),
            () => Task.FromResult(p.Error[^Math.Min(2000, p.Error.Length)..]), TestContext.Current.CancellationToken);
        return c;
    }

    public async Task<ProcessResult> CtrAsync(params string[] args) =>
        await ProcessRunner.RunAsync("ctr", ["-a", SocketPath, "-n", "k8s.io", .. args], ct: TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync()
    {
        _process.Kill();
        _process.Dispose();
        await Task.CompletedTask;
        _dir.Dispose();
    }
}
