// A resolved environment to CRI v1 KeyValue messages.
using Appliance.ClusterRuntime.Agent.Cri.V1;

namespace Appliance.ClusterRuntime.Agent.Kubelet.Env;

/// <summary>Converts <see cref="ContainerEnv.Env"/> for <c>ContainerConfig.Envs</c>.</summary>
internal static class CriEnv
{
    /// <summary>One <c>KeyValue</c> per entry, in order.</summary>
    public static IEnumerable<KeyValue> ToCri(this ContainerEnv env) => env.Env.Select(e => new KeyValue { Key = e.Key, Value = e.Value });
}
