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
    /// <summary>
    /// The labels K3s gives a server's node, so <c>kubectl get nodes</c> shows its role. The server sets them, not the
    /// agent: NodeRestriction forbids a node to set <c>node-role.kubernetes.io/*</c> labels on itself.
    /// </summary>
    static readonly KeyValuePair<string, string>[] RoleLabels =
        [new("node-role.kubernetes.io/control-plane", "true"), new("node-role.kubernetes.io/master", "true")];

    /// <summary>
    /// The embedded agent's options from the server's node flags, in <c>DATA_DIR/agent</c>; the server URL and the
    /// token are filled in by <see cref="RunAsync"/>. Throws <see cref="ArgumentException"/> for a bad node flag.
    /// </summary>
    public static AgentOptions Options(ParseResult parse, ServerOptions server)
    {
        var options = AgentCommandDefinition.CheckNode(parse, Url(server, server.HttpsPort), "", Path.Combine(server.DataDir, "agent"), "--data-dir");
        return options with { ClusterDns = server.Controllers.ClusterDns };
    }

    /// <summary>
    /// Runs the agent against <paramref name="server"/> until <paramref name="stop"/>. It never throws: a failure is
    /// logged as one error line and the API server keeps serving.
    /// </summary>
    public static async Task RunAsync(AgentOptions options, ServerOptions serverOptions, ApiServer server, CancellationToken stop)
    {
        var logger = server.LoggerFactory.CreateLogger("Appliance.ClusterRuntime.Agent");
        options = options with { Server = Url(serverOptions, server.Port), Token = server.Pki.Token.ToString() };
        // The labelling waits for the agent's Node, and gives up when the agent ends (a refused join, no containerd).
        // Not disposed: the labelling task may still read its token after this method returns.
        var agentRunning = CancellationTokenSource.CreateLinkedTokenSource(stop);
        _ = Task.Run(() => LabelRoleAsync(server.Store, options.NodeName, logger, agentRunning.Token), CancellationToken.None);
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
        finally
        {
            await agentRunning.CancelAsync();
        }
    }

    /// <summary>Adds <see cref="RoleLabels"/> to the server's Node once the agent has registered it (as K3s's server does).</summary>
    static async Task LabelRoleAsync(Api.Storage.ObjectStore store, string nodeName, ILogger logger, CancellationToken stop)
    {
        var nodes = Api.ResourceTable.Find("", "v1", "nodes")!;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                if ((await store.TryGetAsync(nodes, null, nodeName, stop)).Obj is { } node)
                {
                    if (RoleLabels.All(l => Controllers.Machinery.Obj.Str(node, "metadata", "labels", l.Key) == l.Value)) return;
                    await store.UpdateAsync(nodes, null, nodeName, cur =>
                    {
                        var labels = Controllers.Machinery.Obj.Ensure(cur, "metadata", "labels");
                        foreach (var (k, v) in RoleLabels) labels[k] = v;
                        return cur;
                    }, false, stop);
                    return;
                }
                await Task.Delay(TimeSpan.FromMilliseconds(500), stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
        catch (Exception e) when (e is Api.ApiException or Datastore.KeyExistsException)
        {
            logger.LogWarning("could not label the server's node {Node} with its role: {Error}", nodeName, e.Message);
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
