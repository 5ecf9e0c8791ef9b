// A join that the server or the token refused; the agent prints its message as one line and exits 1.
namespace Appliance.ClusterRuntime.Agent.Join;

/// <summary>The join cannot go on (wrong token, CA hash mismatch, node name taken); the message says which and what to do.</summary>
public sealed class JoinException(string message, Exception? inner = null) : Exception(message, inner);
