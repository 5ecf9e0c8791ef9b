// Runs the agent until SIGTERM/SIGINT; refusals end in one line and exit 1, a runtime endpoint that cannot be used in exit 2.
using System.Runtime.InteropServices;
using Appliance.ClusterRuntime.Agent.Join;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Agent;

/// <summary>The agent verb's logic: a <see cref="NodeAgent"/> run until a signal.</summary>
public sealed class AgentCommand(AgentOptions options, TextWriter error)
{
    /// <summary>Joins and runs until a signal. Returns the exit code.</summary>
    public async Task<int> RunAsync(CancellationToken ct)
    {
        using var loggers = LoggerFactory.Create(b =>
        {
            b.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
            b.SetMinimumLevel(LogLevel.Information);
        });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            // System.CommandLine cancels ct on the same signal, so the run may have ended (and disposed stop) already.
            try { stop.Cancel(); }
            catch (ObjectDisposedException) { }
        }
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        try
        {
            await new NodeAgent(options, loggers.CreateLogger("Appliance.ClusterRuntime.Agent")).RunAsync(stop.Token);
            return 0;
        }
        catch (Exception e) when (e is JoinException or AgentStartException)
        {
            error.WriteLine($"appliance-runtime agent: {e.Message}");
            return 1;
        }
        catch (ArgumentException e)
        {
            error.WriteLine($"appliance-runtime agent: {e.Message}");
            return 2;
        }
    }

    /// <summary><c>--cleanup</c>: removes the agent's nftables table, routes, cluster DNS address and pods' bridge from this machine's network.</summary>
    public static async Task<int> CleanupAsync(TextWriter error, CancellationToken ct)
    {
        using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true));
        try
        {
            await Network.NodeNetwork.CleanupAsync(new Network.HostCommand(), loggers.CreateLogger("Appliance.ClusterRuntime.Agent"), ct);
            return 0;
        }
        catch (Network.HostCommandException e)
        {
            error.WriteLine($"appliance-runtime agent --cleanup: {e.Message}");
            return 1;
        }
    }
}
