// Starts the real `appliance-runtime agent` process against a test server (the join tests' only launcher).
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Agent;

/// <summary>Runs <c>appliance-runtime agent</c> (<see cref="RuntimeProcess.Program"/>).</summary>
public static class JoinAgent
{
    /// <summary>
    /// The agent's arguments for <paramref name="server"/>, <paramref name="token"/> and <paramref name="dataDir"/>,
    /// then <paramref name="extra"/>. These agents run on the host's own network, so they never start containerd: they
    /// attach to a socket that does not exist, and their nodes are honestly NotReady (JoinNetnsTests runs one with
    /// containerd, inside network namespaces); nor do they touch the network (--disable-network).
    /// </summary>
    static string[] Args(string server, string token, string dataDir, string[] extra) =>
        RuntimeProcess.Arguments(["agent", "--server", server, "--token", token, "--data-dir", dataDir,
         .. extra.Contains("--container-runtime-endpoint") ? [] : new[] { "--container-runtime-endpoint", "unix:///run/appliance-test-no-runtime.sock" },
         "--kubelet-port", "0", "--disable-network", .. extra]);

    /// <summary>A CNI conflist (bridge + host-local + portmap, Debian's plugins): with it containerd reports NetworkReady.</summary>
    public const string CniConflist = """
        {"cniVersion": "1.0.0", "name": "test", "plugins": [
          {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.42.0.0/24"}]]}},
          {"type": "portmap", "capabilities": {"portMappings": true}}]}
        """;


    /// <summary>Starts an agent that keeps running (dispose kills it).</summary>
    public static ChildProcess Start(string server, string token, string dataDir, params string[] extra) =>
        ProcessRunner.Start(RuntimeProcess.Program, Args(server, token, dataDir, extra));

    /// <summary>Runs an agent expected to stop by itself (a refused join), for at most 60 s.</summary>
    public static Task<ProcessResult> RunAsync(string server, string token, string dataDir, params string[] extra) =>
        ProcessRunner.RunAsync(RuntimeProcess.Program, Args(server, token, dataDir, extra), new ProcessOptions { Timeout = TimeSpan.FromSeconds(60) });

    /// <summary>The https URL of a test server.</summary>
    public static string Url(RuntimeProcess server) => $"https://127.0.0.1:{server.Port}";

    /// <summary>The server's node token.</summary>
    public static string Token(RuntimeProcess server) => File.ReadAllText(Path.Combine(server.DataDir, "token")).Trim();
}
