// A volume that cannot be set up: the kubelet's FailedMount event; the pod stays ContainerCreating and is retried.
namespace Appliance.ClusterRuntime.Agent.Kubelet.Volumes;

/// <summary>
/// A volume of the pod could not be set up. The message is upstream's event text,
/// <c>MountVolume.SetUp failed for volume "NAME" : cause</c>; the pod worker records it as a <see cref="Reason"/> event.
/// </summary>
public sealed class VolumeSetupException(string volume, string cause, Exception? inner = null)
    : Exception($"MountVolume.SetUp failed for volume \"{volume}\" : {cause}", inner)
{
    /// <summary>The volume's name.</summary>
    public string Volume { get; } = volume;

    /// <summary>The event reason, <c>FailedMount</c>.</summary>
    public string Reason => "FailedMount";
}
