// Where the Node's Ready condition and containerRuntimeVersion come from: the container runtime, asked over CRI.
namespace Appliance.ClusterRuntime.Agent.Node;

/// <summary>The container runtime's answer: ready or not (with its reason), and its version as nodeInfo shows it.</summary>
/// <param name="Ready">True only when the runtime says RuntimeReady and NetworkReady.</param>
/// <param name="Reason">Why not ready (the runtime's reason), or <c>KubeletReady</c>.</param>
/// <param name="Message">A sentence for <c>kubectl describe node</c>.</param>
/// <param name="Version">nodeInfo.containerRuntimeVersion, e.g. <c>containerd://1.6.20~ds1</c>; empty when unknown.</param>
public sealed record RuntimeReport(bool Ready, string Reason, string Message, string Version)
{
    /// <summary>The images the runtime holds, for the Node's <c>status.images</c>; empty when unknown.</summary>
    public IReadOnlyList<NodeImage> Images { get; init; } = [];
}

/// <summary>One entry of the Node's <c>status.images</c>: every name of the image (digests and tags) and its size.</summary>
public sealed record NodeImage(IReadOnlyList<string> Names, long SizeBytes);

/// <summary>Asks the container runtime whether the node can run pods.</summary>
public interface IRuntimeStatus
{
    /// <summary>The runtime's current state; never throws for an unreachable runtime (that is a not-ready report).</summary>
    Task<RuntimeReport> ReadAsync(CancellationToken ct);
}
