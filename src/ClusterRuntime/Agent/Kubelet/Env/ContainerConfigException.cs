// A container that cannot be configured yet (missing ConfigMap, Secret or key): the kubelet's CreateContainerConfigError.
namespace Appliance.ClusterRuntime.Agent.Kubelet.Env;

/// <summary>
/// The container's configuration cannot be built: the pod worker leaves it waiting with <see cref="Reason"/> and this
/// message, and tries again on the next sync (the missing object may appear).
/// </summary>
public sealed class ContainerConfigException(string message) : Exception(message)
{
    /// <summary>The waiting reason upstream gives, <c>CreateContainerConfigError</c>.</summary>
    public string Reason => "CreateContainerConfigError";
}
