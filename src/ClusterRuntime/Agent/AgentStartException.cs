// A node agent that cannot start (containerd missing, kubelet port taken, join unreachable); the message says why.
namespace Appliance.ClusterRuntime.Agent;

/// <summary>The agent cannot run; the agent verb prints the message as one line and exits 1, the server logs it.</summary>
public sealed class AgentStartException(string message, Exception? inner = null) : Exception(message, inner);
