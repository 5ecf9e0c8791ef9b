// VolumeMount to the CRI v1 Mount message.
using Appliance.ClusterRuntime.Agent.Cri.V1;

namespace Appliance.ClusterRuntime.Agent.Kubelet.Volumes;

/// <summary>Converts <see cref="VolumeMount"/>s for <c>ContainerConfig.Mounts</c>.</summary>
internal static class CriMounts
{
    /// <summary>The CRI mount (no SELinux relabel, no ID mappings).</summary>
    public static Mount ToCri(this VolumeMount m) => new()
    {
        ContainerPath = m.ContainerPath,
        HostPath = m.HostPath,
        Readonly = m.ReadOnly,
        Propagation = m.Propagation switch
        {
            "HostToContainer" => MountPropagation.PropagationHostToContainer,
            "Bidirectional" => MountPropagation.PropagationBidirectional,
            _ => MountPropagation.PropagationPrivate,
        },
    };
}
