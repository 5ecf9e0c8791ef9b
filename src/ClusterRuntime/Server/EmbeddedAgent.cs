// The server's own node (K3s's embedded agent): a NodeAgent joining this server by its own token, in DIR/agent.
using System.CommandLine;
using System.Net;
using Appliance.ClusterRuntime.Agent;
using Appliance.ClusterRuntime.Agent.Join;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Server;

/// <summary>Options and run of the agent the server starts unless <c>--disable-agent</c> is given.</summary>
public static class EmbeddedAgent
{
    /// <summary>The labels K3s gives a server's node, so <c>kubectl get nodes</c> shows its role.</summary>
    static readonly KeyValuePair<string, string>[] RoleLabels =
        [new("node-role.kubernetes.io/control-plane", "true"), new("node-role.kubernetes.io/master", "true")];

    /// <summary>
    /// The embedded agent's options from the server's node flags, in <c>DATA_DIR/agent</c>; the server URL and the
    /// token are filled in by <see cref="RunAsync"/>. Throws <see cref="ArgumentException"/> for a bad node flag.
    /// </summary>
    public static AgentOptions Options(ParseResult parse, ServerOptions server)
    {
        var options = AgentCommandDefinition.CheckNode(parse, Url(server, server.HttpsPort), "", Path.Combine(server.DataDir, "agent"), "--data-dir");
        var labels = new Dictionary<string, string>(RoleLabels);
        foreach (var (key, value) in options.Labels) labels[key] = value;
        return options with { Labels = labels, ClusterDns = server.Controllers.ClusterDns };
    }

    /// <summary>
    /// Runs the agent against <paramref name="server"/> until <paramref name="stop"/>. It never throws: a failure is
    /// logged as one error line and the API server keeps serving.
    /// </summary>
    public static async Task RunAsync(AgentOptions options, ServerOptions serverOptions, ApiServer server, CancellationToken stop)
    {
        var logger = server.LoggerFactory.CreateLogger("Appliance.ClusterRuntime.Agent");
        options = options with { Server = Url(serverOptions, server.Port), Token = server.Pki.Token.ToString() };
        try
        {
            await new NodeAgent(options, logger).RunAsync(stop);
        }
        catch (Exception e) when (e is JoinException or AgentStartException or ArgumentException)
        {
            logger.LogError("embedded agent not running: {Error}; the server keeps serving the API (--disable-agent turns the agent off)", e.Message);
        }
        catch (Exception e) when (stop.IsCancellationRequested)
        {
            // Stopping: whatever the agent was doing when it was cut short does not hold up the server's own stop.
            logger.LogDebug("embedded agent stopped: {Error}", e.Message);
        }
        catch (Exception e)
        {
            logger.LogError(e, "embedded agent failed; the server keeps serving the API");
        }
    }

    /// <summary>The server as its own node reaches it: loopback when it listens on every address, else the bound one.</summary>
    static Uri Url(ServerOptions options, int port)
    {
        var bind = IPAddress.TryParse(options.BindAddress, out var b) ? b : IPAddress.Any;
        var host = bind.Equals(IPAddress.Any) ? IPAddress.Loopback : bind.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Loopback : bind;
        return new UriBuilder("https", host.ToString(), port).Uri;
    }
}
