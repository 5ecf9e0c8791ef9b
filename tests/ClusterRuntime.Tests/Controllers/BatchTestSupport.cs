// Shared steps of the Job and CronJob tests: apply YAML with kubectl, read objects over HTTP, wait on conditions.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Tests.Support;
using k8s;

namespace Appliance.ClusterRuntime.Tests.Controllers;

/// <summary>
/// No scheduler runs on this branch, so the tests bind pods by putting <c>spec.nodeName</c> of their simulated node
/// into the pod templates (the scheduler leaves such pods alone). The node's <see cref="SimulatedNode.Outcome"/>
/// reads the pod label <c>outcome</c>: "0" succeeds, "1" fails, absent runs forever.
/// </summary>
static class BatchTestSupport
{
    /// <summary>The simulated node's verdict from the pod's <c>outcome</c> label.</summary>
    public static int? OutcomeByLabel(k8s.Models.V1Pod pod) =>
        pod.Metadata.Labels?.TryGetValue("outcome", out var v) == true ? int.Parse(v, System.Globalization.CultureInfo.InvariantCulture) : null;

    /// <summary>A client of the server's admin kubeconfig.</summary>
    public static IKubernetes Client(RuntimeProcess server) =>
        new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(server.KubeconfigPath));

    /// <summary>Runs <c>kubectl apply -f</c> on <paramref name="yaml"/>.</summary>
    public static async Task<ProcessResult> ApplyAsync(Support.Kubectl kubectl, string yaml)
    {
        using var dir = new TempDir();
        var file = Path.Combine(dir.Path, "manifest.yaml");
        await File.WriteAllTextAsync(file, yaml);
        return await kubectl.RunAsync("apply", "-f", file);
    }

    /// <summary>GETs <paramref name="path"/>; null on 404.</summary>
    public static async Task<JsonObject?> GetAsync(RuntimeProcess server, string path)
    {
        using var http = server.CreateClient();
        var r = await http.GetAsync(path);
        if (r.StatusCode == System.Net.HttpStatusCode.NotFound) return null;
        r.EnsureSuccessStatusCode();
        return JsonNode.Parse(await r.Content.ReadAsStringAsync())!.AsObject();
    }

    /// <summary>Polls <paramref name="read"/> until <paramref name="done"/> holds; fails with the last value seen.</summary>
    public static Task<T> WaitAsync<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan timeout, string what) =>
        Poll.UntilAsync(read, done, timeout, what, interval: TimeSpan.FromMilliseconds(200));

    /// <summary>The condition of <paramref name="type"/> of an object, or null.</summary>
    public static JsonObject? Condition(JsonObject? obj, string type) =>
        (obj?["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(c => c["type"]?.GetValue<string>() == type);

    /// <summary>The items of a list response.</summary>
    public static List<JsonObject> Items(JsonObject? list) => (list?["items"] as JsonArray)?.OfType<JsonObject>().ToList() ?? [];
}
