// The CRI socket is missing or refuses connections: the message names the socket.
namespace Appliance.ClusterRuntime.Agent.Cri;

/// <summary>The container runtime's socket could not be reached.</summary>
internal sealed class CriUnavailableException(string socketPath, Exception inner)
    : Exception(Describe(socketPath), inner)
{
    /// <summary>The socket that was dialled.</summary>
    public string SocketPath { get; } = socketPath;

    static string Describe(string path) => File.Exists(path) || Directory.Exists(path)
        ? $"container runtime socket {path} refuses connections (is containerd running?)"
        : $"container runtime socket {path} does not exist (is containerd running?)";
}
