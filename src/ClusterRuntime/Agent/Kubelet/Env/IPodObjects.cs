// Where the kubelet reads the ConfigMaps and Secrets a pod refers to.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Client;

namespace Appliance.ClusterRuntime.Agent.Kubelet.Env;

/// <summary>Reads a pod's ConfigMaps and Secrets by namespace and name; null when the object does not exist.</summary>
public interface IPodObjects
{
    /// <summary>The ConfigMap, or null when there is none.</summary>
    Task<JsonObject?> ConfigMapAsync(string ns, string name, CancellationToken ct);

    /// <summary>The Secret, or null when there is none.</summary>
    Task<JsonObject?> SecretAsync(string ns, string name, CancellationToken ct);
}

/// <summary><see cref="IPodObjects"/> over the agent's <see cref="ApiClient"/> (a GET per call; no cache yet).</summary>
public sealed class ApiPodObjects(ApiClient api) : IPodObjects
{
    /// <inheritdoc />
    public Task<JsonObject?> ConfigMapAsync(string ns, string name, CancellationToken ct) =>
        api.GetAsync($"/api/v1/namespaces/{Uri.EscapeDataString(ns)}/configmaps/{Uri.EscapeDataString(name)}", ct);

    /// <inheritdoc />
    public Task<JsonObject?> SecretAsync(string ns, string name, CancellationToken ct) =>
        api.GetAsync($"/api/v1/namespaces/{Uri.EscapeDataString(ns)}/secrets/{Uri.EscapeDataString(name)}", ct);
}
