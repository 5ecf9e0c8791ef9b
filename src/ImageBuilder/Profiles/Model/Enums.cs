// The closed sets of values a profile may name (boards and image formats are in Boards/): node roles, taint effects.
using System.Text.Json.Serialization;

namespace Appliance.ImageBuilder.Profiles.Model;

/// <summary>The node's part in the site cluster.</summary>
public enum NodeRole
{
    /// <summary>Runs the API server and datastore (and workloads).</summary>
    [JsonStringEnumMemberName("server")] Server,
    /// <summary>Joins a server given by <c>cluster.server</c> and runs workloads.</summary>
    [JsonStringEnumMemberName("agent")] Agent,
}

/// <summary>Kubernetes taint effects.</summary>
public enum TaintEffect
{
    /// <summary>New pods without a toleration are not scheduled.</summary>
    [JsonStringEnumMemberName("NoSchedule")] NoSchedule,
    /// <summary>The scheduler avoids the node.</summary>
    [JsonStringEnumMemberName("PreferNoSchedule")] PreferNoSchedule,
    /// <summary>Running pods without a toleration are evicted.</summary>
    [JsonStringEnumMemberName("NoExecute")] NoExecute,
}
