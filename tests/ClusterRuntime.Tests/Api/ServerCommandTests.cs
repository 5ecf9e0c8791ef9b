// The server verb's command line: bad options end in one line and exit 2; a port in use is one line and exit 1.
using System.Net;
using System.Net.Sockets;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Api;

[Trait("Category", "External")]
public sealed class ServerCommandTests
{
    static async Task<(int Code, string Stderr)> RunAsync(params string[] args)
    {
        var r = await ProcessRunner.RunAsync(RuntimeProcess.Program, RuntimeProcess.Arguments(args), new ProcessOptions { Timeout = TimeSpan.FromSeconds(30) },
            TestContext.Current.CancellationToken);
        return (r.ExitCode, r.Error);
    }

    [Fact]
    public async Task BadBindAddress_Exit2_OneLine()
    {
        using var dir = new TempDir();
        var (code, stderr) = await RunAsync("server", "--data-dir", dir.Path, "--bind-address", "not-an-ip");
        Assert.Equal(2, code);
        Assert.Equal("appliance-runtime server: --bind-address: \"not-an-ip\" is not an IP address", stderr.Trim());
    }

    [Fact]
    public async Task UnparsablePort_Exit2()
    {
        using var dir = new TempDir();
        var (code, stderr) = await RunAsync("server", "--data-dir", dir.Path, "--https-listen-port", "lots");
        Assert.Equal(2, code);
        Assert.StartsWith("appliance-runtime: ", stderr);
        Assert.Contains("lots", stderr);
    }

    [Fact]
    public async Task BadDatastoreEndpoint_Exit2()
    {
        using var dir = new TempDir();
        var (code, stderr) = await RunAsync("server", "--data-dir", dir.Path, "--datastore-endpoint", "mysql://x");
        Assert.Equal(2, code);
        Assert.Contains("expected postgres://", stderr);
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task PortInUse_Exit1_OneLineWithoutStackTrace()
    {
        using var dir = new TempDir();
        using var busy = new TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        var port = ((IPEndPoint)busy.LocalEndpoint).Port;
        var (code, stderr) = await RunAsync("server", "--data-dir", dir.Path, "--bind-address", "127.0.0.1", "--https-listen-port", port.ToString());
        Assert.Equal(1, code);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("appliance-runtime server:", StringComparison.Ordinal)).ToList();
        Assert.Single(lines);
        Assert.Contains("address already in use", lines[0]);
        Assert.DoesNotContain("   at ", stderr);
    }

    [Fact]
    public async Task DataDirInUse_Exit1_OneLineWithoutStackTrace()
    {
        using var dir = new TempDir();
        await using var first = await RuntimeProcess.StartAsync(dir.Path, RuntimeProcess.FreePort());
        var (code, stderr) = await RunAsync("server", "--data-dir", dir.Path, "--bind-address", "127.0.0.1",
            "--https-listen-port", RuntimeProcess.FreePort().ToString(), "--snapshot-interval", "0");
        Assert.Equal(1, code);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("appliance-runtime server:", StringComparison.Ordinal)).ToList();
        Assert.Single(lines);
        Assert.Contains("in use", lines[0]);
        Assert.DoesNotContain("   at ", stderr);
    }
}
