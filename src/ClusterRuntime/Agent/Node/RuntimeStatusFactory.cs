// Chooses where the Ready condition comes from.
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Agent.Node;

/// <summary>Makes the agent's <see cref="IRuntimeStatus"/>.</summary>
public static class RuntimeStatusFactory
{
    /// <summary>The runtime status source for <paramref name="options"/>.</summary>
    public static IRuntimeStatus Create(AgentOptions options, ILogger logger) => new NoRuntimeStatus();
}

/// <summary>No container runtime is connected: the node is honestly not ready.</summary>
public sealed class NoRuntimeStatus : IRuntimeStatus
{
    /// <inheritdoc />
    public Task<RuntimeReport> ReadAsync(CancellationToken ct) =>
        Task.FromResult(new RuntimeReport(false, "ContainerRuntimeNotReady", "container runtime is not connected", ""));
}
